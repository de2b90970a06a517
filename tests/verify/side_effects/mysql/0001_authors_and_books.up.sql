-- Three tables chained by foreign keys, a view over two of them, a multi-column index.
CREATE TABLE authors (
    id    BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name  VARCHAR(100) NOT NULL,
    email VARCHAR(200) NOT NULL,
    CONSTRAINT uq_authors_email UNIQUE (email)
);

CREATE TABLE books (
    id        BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    author_id BIGINT       NOT NULL,
    title     VARCHAR(200) NOT NULL,
    isbn      VARCHAR(20)  NOT NULL,
    CONSTRAINT fk_books_author FOREIGN KEY (author_id) REFERENCES authors (id)
);

CREATE INDEX ix_books_title_isbn ON books (title, isbn);
CREATE INDEX ix_books_isbn ON books (isbn);

CREATE TABLE reviews (
    id      BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    book_id BIGINT NOT NULL,
    body    TEXT   NOT NULL,
    CONSTRAINT fk_reviews_book FOREIGN KEY (book_id) REFERENCES books (id)
);

CREATE VIEW book_titles AS
SELECT b.id, b.title, a.name AS author FROM books b JOIN authors a ON a.id = b.author_id;

INSERT INTO authors (name, email) VALUES ('Ada', 'ada@example.com');
INSERT INTO books (author_id, title, isbn) VALUES (1, 'Notes', '978-0');
INSERT INTO reviews (book_id, body) VALUES (1, 'Clear.');
