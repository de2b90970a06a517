-- Widening a column rewrites the table.
ALTER TABLE users ALTER COLUMN email TYPE varchar(320);
