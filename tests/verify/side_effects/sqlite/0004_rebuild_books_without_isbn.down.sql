-- migrator:no-transaction
PRAGMA foreign_keys = OFF;
BEGIN;
DROP VIEW book_titles;
CREATE TABLE books_new (
    id        INTEGER PRIMARY KEY,
    author_id INTEGER NOT NULL REFERENCES writers (writer_id),
    title     TEXT    NOT NULL,
    isbn      TEXT    NOT NULL DEFAULT '',
    UNIQUE (title, isbn)
);
INSERT INTO books_new (id, author_id, title) SELECT id, author_id, title FROM books;
DROP TABLE books;
ALTER TABLE books_new RENAME TO books;
CREATE INDEX ix_books_isbn ON books (isbn);
CREATE VIEW book_titles AS
SELECT b.id, b.title, a.full_name AS author FROM books b JOIN writers a ON a.writer_id = b.author_id;
COMMIT;
PRAGMA foreign_keys = ON;
