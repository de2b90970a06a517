-- An index on an existing table, built while writes wait.
CREATE INDEX ix_users_email ON users (email);
