-- Contract step: chat_messages.tokens has been deprecated since 0007.
ALTER TABLE chat_messages DROP COLUMN tokens;

-- Second half of the NOT VALID pattern started in 0007 (SHARE UPDATE EXCLUSIVE: writes go on).
ALTER TABLE chat_messages VALIDATE CONSTRAINT ck_chat_messages_token_count;
