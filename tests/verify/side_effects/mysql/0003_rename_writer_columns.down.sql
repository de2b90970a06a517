ALTER TABLE writers RENAME COLUMN writer_id TO id, RENAME COLUMN full_name TO name;
CREATE OR REPLACE VIEW book_titles AS
SELECT b.id, b.title, a.name AS author FROM books b JOIN writers a ON a.id = b.author_id;
