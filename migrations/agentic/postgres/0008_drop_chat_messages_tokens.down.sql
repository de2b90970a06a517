-- The column comes back empty and nullable: its data lives on in chat_messages.token_count.
-- (A validated constraint needs no undoing: 0007's down drops it.)
ALTER TABLE chat_messages ADD COLUMN tokens integer NULL;
