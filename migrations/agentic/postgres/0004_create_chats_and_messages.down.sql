DROP TABLE chat_messages;
DROP FUNCTION agentic_track_chat_message();
DROP TABLE chats;
