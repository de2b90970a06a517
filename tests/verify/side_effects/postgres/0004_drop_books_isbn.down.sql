ALTER TABLE books ADD COLUMN isbn text NOT NULL DEFAULT '';
ALTER TABLE books ALTER COLUMN isbn DROP DEFAULT;
ALTER TABLE books ADD CONSTRAINT uq_books_title_isbn UNIQUE (title, isbn);
CREATE INDEX ix_books_author_isbn ON books (author_id, isbn);
