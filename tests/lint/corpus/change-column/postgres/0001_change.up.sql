-- Renaming a column breaks the running release.
ALTER TABLE users RENAME COLUMN email TO email_address;
