-- The unique index is built under ACCESS EXCLUSIVE.
ALTER TABLE users ADD CONSTRAINT uq_users_email UNIQUE (email);
