-- A column the view reads, and the column the foreign key of books references: SQLite
-- rewrites both.
ALTER TABLE writers RENAME COLUMN name TO full_name;
ALTER TABLE writers RENAME COLUMN id TO writer_id;
