-- SQLite has no online index build; CREATE INDEX is not flagged.
CREATE INDEX IF NOT EXISTS ix_users_email ON users (email);
