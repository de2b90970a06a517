-- migrator:no-transaction
-- SQLite cannot drop an indexed column: the documented table rebuild (foreign keys off,
-- create new, copy, drop old, rename new), with the view that reads books put back. The
-- UNIQUE (title, isbn) and the index on isbn go with the old table.
PRAGMA foreign_keys = OFF;
BEGIN;
DROP VIEW book_titles;
CREATE TABLE books_new (
    id        INTEGER PRIMARY KEY,
    author_id INTEGER NOT NULL REFERENCES writers (writer_id),
    title     TEXT    NOT NULL
);
INSERT INTO books_new (id, author_id, title) SELECT id, author_id, title FROM books;
DROP TABLE books;
ALTER TABLE books_new RENAME TO books;
CREATE VIEW book_titles AS
SELECT b.id, b.title, a.full_name AS author FROM books b JOIN writers a ON a.writer_id = b.author_id;
COMMIT;
PRAGMA foreign_keys = ON;
