-- The column comes back empty and nullable: its data lives on in chat_messages.token_count.
ALTER TABLE chat_messages ADD COLUMN tokens INT NULL, ALGORITHM=INSTANT;
