-- A column the view reads, and the column another table's foreign key references.
ALTER TABLE writers RENAME COLUMN name TO full_name;
ALTER TABLE writers RENAME COLUMN id TO writer_id;
