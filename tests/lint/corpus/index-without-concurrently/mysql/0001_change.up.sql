-- An index on an existing table without an online algorithm.
CREATE INDEX ix_users_email ON users (email);
