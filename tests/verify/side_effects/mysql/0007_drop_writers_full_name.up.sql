-- A column a view reads: the view goes first.
DROP VIEW book_titles;
ALTER TABLE writers DROP COLUMN full_name;
