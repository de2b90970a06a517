-- Chats between a user and an agent, optionally grounded in a knowledge base.
-- chats.message_count / last_message_at / title are maintained by the database on every new
-- message (trigger below), so list views never count messages.
-- chat_messages.tokens is superseded by token_count (0005 expand, 0007 deprecate, 0008 contract).

CREATE TABLE chats (
    id                BIGINT       NOT NULL AUTO_INCREMENT,
    workspace_id      BIGINT       NOT NULL,
    user_id           BIGINT       NOT NULL,
    knowledge_base_id BIGINT       NULL,
    workflow_id       BIGINT       NULL,
    title             VARCHAR(255) NULL,
    message_count     INT          NOT NULL DEFAULT 0,
    last_message_at   DATETIME(6)  NULL,
    created_at        DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    updated_at        DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
    PRIMARY KEY (id),
    KEY ix_chats_workspace_user (workspace_id, user_id),
    KEY ix_chats_knowledge_base (knowledge_base_id),
    KEY ix_chats_workflow (workflow_id),
    CONSTRAINT fk_chats_knowledge_base FOREIGN KEY (knowledge_base_id)
        REFERENCES knowledge_bases (id) ON DELETE SET NULL,
    CONSTRAINT fk_chats_workflow FOREIGN KEY (workflow_id)
        REFERENCES workflows (id) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE chat_messages (
    id         BIGINT      NOT NULL AUTO_INCREMENT,
    chat_id    BIGINT      NOT NULL,
    role       VARCHAR(16) NOT NULL,
    content    MEDIUMTEXT  NOT NULL,
    tool_calls JSON        NULL,
    tokens     INT         NULL,
    created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    PRIMARY KEY (id),
    KEY ix_chat_messages_chat_created (chat_id, created_at),
    CONSTRAINT ck_chat_messages_role CHECK (role IN ('system', 'user', 'assistant', 'tool')),
    CONSTRAINT fk_chat_messages_chat FOREIGN KEY (chat_id)
        REFERENCES chats (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TRIGGER trg_chat_messages_track
AFTER INSERT ON chat_messages
FOR EACH ROW
BEGIN
    UPDATE chats
       SET message_count   = message_count + 1,
           last_message_at = NEW.created_at
     WHERE id = NEW.chat_id;
    -- The first user message names the chat.
    IF NEW.role = 'user' THEN
        UPDATE chats
           SET title = LEFT(NEW.content, 120)
         WHERE id = NEW.chat_id
           AND title IS NULL;
    END IF;
END;
