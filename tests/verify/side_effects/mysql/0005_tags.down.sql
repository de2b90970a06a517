DROP VIEW popular_tags;
DROP VIEW tag_labels;
DROP TABLE book_tags;
DROP TABLE tags;
