ALTER TABLE writers RENAME COLUMN writer_id TO id;
ALTER TABLE writers RENAME COLUMN full_name TO name;
