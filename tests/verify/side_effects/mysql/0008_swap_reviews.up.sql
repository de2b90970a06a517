-- An online-schema-change style rebuild: build a copy, swap the names, drop the old one
-- (with the foreign key that CREATE TABLE ... LIKE does not copy).
CREATE TABLE reviews_new LIKE reviews;
ALTER TABLE reviews_new ADD COLUMN rating INT NULL;
INSERT INTO reviews_new (id, book_id, body) SELECT id, book_id, body FROM reviews;
RENAME TABLE reviews TO reviews_old, reviews_new TO reviews;
DROP TABLE reviews_old;
ALTER TABLE reviews ADD CONSTRAINT fk_reviews_book FOREIGN KEY (book_id) REFERENCES books (id);
