-- A view over a view, and a foreign key into tags from another table.
CREATE TABLE tags (
    id    serial PRIMARY KEY,
    label text NOT NULL,
    CONSTRAINT uq_tags_label UNIQUE (label)
);

CREATE TABLE book_tags (
    book_id bigint  NOT NULL,
    tag_id  integer NOT NULL,
    CONSTRAINT pk_book_tags PRIMARY KEY (book_id, tag_id),
    CONSTRAINT fk_book_tags_book FOREIGN KEY (book_id) REFERENCES books (id),
    CONSTRAINT fk_book_tags_tag FOREIGN KEY (tag_id) REFERENCES tags (id)
);

CREATE VIEW tag_labels AS SELECT id, label FROM tags;
CREATE VIEW popular_tags AS SELECT label FROM tag_labels;
