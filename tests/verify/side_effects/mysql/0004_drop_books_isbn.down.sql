ALTER TABLE books ADD COLUMN isbn VARCHAR(20) NOT NULL DEFAULT '';
DROP INDEX ix_books_title_isbn ON books;
CREATE INDEX ix_books_title_isbn ON books (title, isbn);
CREATE INDEX ix_books_isbn ON books (isbn);
