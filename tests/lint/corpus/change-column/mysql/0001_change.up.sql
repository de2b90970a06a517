-- CHANGE renames and redefines the column.
ALTER TABLE users CHANGE COLUMN email email_address VARCHAR(320) NOT NULL;
