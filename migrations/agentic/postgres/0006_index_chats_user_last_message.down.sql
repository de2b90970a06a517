-- migrator:no-transaction
DROP INDEX CONCURRENTLY IF EXISTS ix_chats_user_last_message;
