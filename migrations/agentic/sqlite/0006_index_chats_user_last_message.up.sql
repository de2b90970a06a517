-- "My recent chats". PostgreSQL builds this index concurrently; SQLite has a single writer anyway.
CREATE INDEX IF NOT EXISTS ix_chats_user_last_message ON chats (user_id, last_message_at);
