-- A view over a view, and a foreign key into tags from another table.
CREATE TABLE tags (
    id    INTEGER PRIMARY KEY,
    label TEXT NOT NULL UNIQUE
);

CREATE TABLE book_tags (
    book_id INTEGER NOT NULL REFERENCES books (id),
    tag_id  INTEGER NOT NULL REFERENCES tags (id),
    PRIMARY KEY (book_id, tag_id)
);

CREATE VIEW tag_labels AS SELECT id, label FROM tags;
CREATE VIEW popular_tags AS SELECT label FROM tag_labels;
