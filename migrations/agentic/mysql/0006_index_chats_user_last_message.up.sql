-- "My recent chats": online index build, chats stays writable meanwhile.
ALTER TABLE chats ADD INDEX ix_chats_user_last_message (user_id, last_message_at), ALGORITHM=INPLACE, LOCK=NONE;
