-- A column the view reads, and the column another table's foreign key references.
ALTER TABLE writers RENAME COLUMN name TO full_name, RENAME COLUMN id TO writer_id;
CREATE OR REPLACE VIEW book_titles AS
SELECT b.id, b.title, a.full_name AS author FROM books b JOIN writers a ON a.writer_id = b.author_id;
