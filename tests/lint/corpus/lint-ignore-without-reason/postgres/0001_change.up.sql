-- migrator:lint-ignore require-concurrent-index-creation
CREATE INDEX ix_users_email ON users (email);
