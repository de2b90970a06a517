-- Takes the one-column index with it; the two-column index loses a column and stays.
ALTER TABLE books DROP COLUMN isbn;
