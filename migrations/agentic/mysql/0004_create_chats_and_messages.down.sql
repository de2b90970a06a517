-- Dropping chat_messages drops trg_chat_messages_track with it.
DROP TABLE chat_messages;
DROP TABLE chats;
