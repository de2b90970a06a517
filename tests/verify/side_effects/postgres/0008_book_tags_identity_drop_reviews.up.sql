-- An IDENTITY column added to an existing table: a sequence no statement names; and a
-- table dropped without CASCADE, its IDENTITY sequence with it.
ALTER TABLE book_tags ADD COLUMN id bigint GENERATED ALWAYS AS IDENTITY;
DROP TABLE reviews;
