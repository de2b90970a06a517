-- An IDENTITY column added to an existing table: a sequence no statement names.
ALTER TABLE book_tags ADD COLUMN id bigint GENERATED ALWAYS AS IDENTITY;
