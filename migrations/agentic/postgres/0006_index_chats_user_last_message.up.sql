-- migrator:no-transaction
-- "My recent chats": built without blocking writes on chats, which is written on every message.
CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_chats_user_last_message ON chats (user_id, last_message_at);
