DROP INDEX IF EXISTS ix_chats_user_last_message;
