CREATE TABLE tags (
    id    INTEGER PRIMARY KEY,
    label TEXT NOT NULL UNIQUE
);
CREATE VIEW tag_labels AS SELECT id, label FROM tags;
CREATE VIEW popular_tags AS SELECT label FROM tag_labels;
