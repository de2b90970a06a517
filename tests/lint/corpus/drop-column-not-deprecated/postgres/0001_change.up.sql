-- The previous release still reads full_name.
ALTER TABLE users DROP COLUMN full_name;
