-- MODIFY with a new type copies the table.
ALTER TABLE users MODIFY COLUMN email VARCHAR(320) NOT NULL;
