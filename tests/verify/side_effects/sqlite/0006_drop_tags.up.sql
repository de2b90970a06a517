-- SQLite has no DROP ... CASCADE: the views go by name; the foreign key of book_tags
-- stays, dangling, as SQLite keeps it.
DROP VIEW popular_tags;
DROP VIEW tag_labels;
DROP TABLE tags;
