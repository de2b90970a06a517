-- A view over a view, and a foreign key into tags from another table.
CREATE TABLE tags (
    id    BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    label VARCHAR(100) NOT NULL,
    CONSTRAINT uq_tags_label UNIQUE (label)
);

CREATE TABLE book_tags (
    book_id BIGINT NOT NULL,
    tag_id  BIGINT NOT NULL,
    PRIMARY KEY (book_id, tag_id),
    CONSTRAINT fk_book_tags_book FOREIGN KEY (book_id) REFERENCES books (id),
    CONSTRAINT fk_book_tags_tag FOREIGN KEY (tag_id) REFERENCES tags (id)
);

CREATE VIEW tag_labels AS SELECT id, label FROM tags;
CREATE VIEW popular_tags AS SELECT label FROM tag_labels;
