RENAME TABLE writers TO authors;
CREATE OR REPLACE VIEW book_titles AS
SELECT b.id, b.title, a.name AS author FROM books b JOIN authors a ON a.id = b.author_id;
