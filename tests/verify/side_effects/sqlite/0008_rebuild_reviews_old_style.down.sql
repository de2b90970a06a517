ALTER TABLE reviews RENAME TO reviews_old;
CREATE TABLE reviews (
    id      INTEGER PRIMARY KEY,
    book_id INTEGER NOT NULL REFERENCES books (id),
    body    TEXT    NOT NULL
);
INSERT INTO reviews (id, book_id, body) SELECT id, book_id, body FROM reviews_old;
DROP TABLE reviews_old;
CREATE INDEX ix_reviews_book ON reviews (book_id);
