DROP VIEW book_titles;
ALTER TABLE writers ADD COLUMN full_name TEXT NOT NULL DEFAULT '';
CREATE VIEW book_titles AS
SELECT b.id, b.title, a.full_name AS author FROM books b JOIN writers a ON a.writer_id = b.author_id;
