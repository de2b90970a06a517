-- Contract step: chat_messages.tokens has been deprecated since 0007.
ALTER TABLE chat_messages DROP COLUMN tokens;
