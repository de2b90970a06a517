-- migrator:lint-ignore alter-without-online-algorithm reason:
CREATE INDEX ix_users_email ON users (email);
