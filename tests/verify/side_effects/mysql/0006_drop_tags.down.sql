CREATE TABLE tags (
    id    BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    label VARCHAR(100) NOT NULL,
    CONSTRAINT uq_tags_label UNIQUE (label)
);
CREATE VIEW tag_labels AS SELECT id, label FROM tags;
CREATE VIEW popular_tags AS SELECT label FROM tag_labels;
ALTER TABLE book_tags ADD CONSTRAINT fk_book_tags_tag FOREIGN KEY (tag_id) REFERENCES tags (id);
