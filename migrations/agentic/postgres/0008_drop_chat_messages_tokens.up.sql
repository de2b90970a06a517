-- Second half of the NOT VALID pattern started in 0007 (SHARE UPDATE EXCLUSIVE: writes go on).
-- It runs first: after the DROP COLUMN below, the table's ACCESS EXCLUSIVE lock would be held
-- through the validation scan until commit.
ALTER TABLE chat_messages VALIDATE CONSTRAINT ck_chat_messages_token_count;

-- Contract step: chat_messages.tokens has been deprecated since 0007.
ALTER TABLE chat_messages DROP COLUMN tokens;
