-- Three tables chained by foreign keys, a view over two of them, a multi-column UNIQUE.
CREATE TABLE authors (
    id    INTEGER PRIMARY KEY AUTOINCREMENT,
    name  TEXT NOT NULL,
    email TEXT NOT NULL,
    CONSTRAINT uq_authors_email UNIQUE (email)
);

CREATE TABLE books (
    id        INTEGER PRIMARY KEY,
    author_id INTEGER NOT NULL REFERENCES authors (id),
    title     TEXT    NOT NULL,
    isbn      TEXT    NOT NULL,
    UNIQUE (title, isbn)
);

CREATE INDEX ix_books_isbn ON books (isbn);

CREATE TABLE reviews (
    id      INTEGER PRIMARY KEY,
    book_id INTEGER NOT NULL REFERENCES books (id),
    body    TEXT    NOT NULL
);

CREATE INDEX ix_reviews_book ON reviews (book_id);

CREATE VIEW book_titles AS
SELECT b.id, b.title, a.name AS author FROM books b JOIN authors a ON a.id = b.author_id;

INSERT INTO authors (name, email) VALUES ('Ada', 'ada@example.com');
INSERT INTO books (author_id, title, isbn) VALUES (1, 'Notes', '978-0');
INSERT INTO reviews (book_id, body) VALUES (1, 'Clear.');
