ALTER TABLE writers RENAME TO authors;
