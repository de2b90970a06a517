-- The other rebuild: rename the old table away, create the new one, copy, drop the old.
-- The index moves with the renamed table and goes with it; the new table gets it again.
ALTER TABLE reviews RENAME TO reviews_old;
CREATE TABLE reviews (
    id      INTEGER PRIMARY KEY,
    book_id INTEGER NOT NULL REFERENCES books (id),
    body    TEXT    NOT NULL,
    rating  INTEGER NULL CHECK (rating BETWEEN 1 AND 5)
);
INSERT INTO reviews (id, book_id, body) SELECT id, book_id, body FROM reviews_old;
DROP TABLE reviews_old;
CREATE INDEX ix_reviews_book ON reviews (book_id);
