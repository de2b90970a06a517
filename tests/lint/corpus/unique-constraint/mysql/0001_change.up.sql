-- A unique key without an online algorithm.
ALTER TABLE users ADD CONSTRAINT uq_users_email UNIQUE (email);
