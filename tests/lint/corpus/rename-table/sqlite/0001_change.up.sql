-- The running release still queries "users".
ALTER TABLE users RENAME TO accounts;
