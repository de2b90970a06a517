-- Takes the multi-column UNIQUE constraint (and its index) and the multi-column index with it.
ALTER TABLE books DROP COLUMN isbn;
