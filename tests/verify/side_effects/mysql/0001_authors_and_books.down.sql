DROP VIEW book_titles;
DROP TABLE reviews;
DROP TABLE books;
DROP TABLE authors;
