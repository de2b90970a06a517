-- MySQL has no DROP ... CASCADE: the dependants go by name, the foreign key's index stays.
DROP VIEW popular_tags;
DROP VIEW tag_labels;
ALTER TABLE book_tags DROP FOREIGN KEY fk_book_tags_tag;
DROP TABLE tags;
