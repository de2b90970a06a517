ALTER TABLE chats DROP INDEX ix_chats_user_last_message, ALGORITHM=INPLACE, LOCK=NONE;
