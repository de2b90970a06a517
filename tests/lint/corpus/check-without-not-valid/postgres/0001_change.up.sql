-- A CHECK validated under a write-blocking lock.
ALTER TABLE users ADD CONSTRAINT ck_users_email CHECK (email <> '');
