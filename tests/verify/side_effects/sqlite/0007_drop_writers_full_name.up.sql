-- A column a view reads: the view goes first, and comes back reading another column.
DROP VIEW book_titles;
ALTER TABLE writers DROP COLUMN full_name;
CREATE VIEW book_titles AS
SELECT b.id, b.title, a.email AS author FROM books b JOIN writers a ON a.writer_id = b.author_id;
