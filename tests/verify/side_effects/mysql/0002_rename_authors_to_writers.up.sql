-- A table that another table's foreign key references (InnoDB follows the rename) and a
-- view reads (MySQL does not rewrite views: the migration replaces it).
RENAME TABLE authors TO writers;
CREATE OR REPLACE VIEW book_titles AS
SELECT b.id, b.title, a.name AS author FROM books b JOIN writers a ON a.id = b.author_id;
