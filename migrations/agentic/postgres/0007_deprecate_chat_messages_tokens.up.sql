-- migrator:deprecates chat_messages.tokens
-- From this release on the application reads and writes chat_messages.token_count only;
-- 0008 drops chat_messages.tokens.
-- New rows must carry a sane token count. The constraint is added NOT VALID (no scan, only a
-- brief lock); existing rows are checked by VALIDATE CONSTRAINT in 0008, which does not block writes.
ALTER TABLE chat_messages
    ADD CONSTRAINT ck_chat_messages_token_count CHECK (token_count >= 0) NOT VALID;
