-- Adding a CHECK needs ALGORITHM=COPY; no algorithm stated.
ALTER TABLE users ADD CONSTRAINT ck_users_email CHECK (email <> '');
