-- Chats between a user and an agent, optionally grounded in a knowledge base.
-- chats.message_count / last_message_at / title are maintained by the database on every new
-- message (trigger below), so list views never count messages.
-- chat_messages.tokens is superseded by token_count (0005 expand, 0007 deprecate, 0008 contract).

CREATE TABLE chats (
    id                INTEGER CONSTRAINT pk_chats PRIMARY KEY AUTOINCREMENT,
    workspace_id      INTEGER NOT NULL,
    user_id           INTEGER NOT NULL,
    knowledge_base_id INTEGER NULL,
    workflow_id       INTEGER NULL,
    title             TEXT NULL,
    message_count     INTEGER NOT NULL DEFAULT 0,
    last_message_at   TEXT NULL,
    created_at        TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at        TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    CONSTRAINT fk_chats_knowledge_base FOREIGN KEY (knowledge_base_id)
        REFERENCES knowledge_bases (id) ON DELETE SET NULL,
    CONSTRAINT fk_chats_workflow FOREIGN KEY (workflow_id)
        REFERENCES workflows (id) ON DELETE SET NULL
);

CREATE INDEX ix_chats_workspace_user ON chats (workspace_id, user_id);
CREATE INDEX ix_chats_knowledge_base ON chats (knowledge_base_id);
CREATE INDEX ix_chats_workflow ON chats (workflow_id);

CREATE TABLE chat_messages (
    id         INTEGER CONSTRAINT pk_chat_messages PRIMARY KEY AUTOINCREMENT,
    chat_id    INTEGER NOT NULL,
    role       TEXT NOT NULL,
    content    TEXT NOT NULL,
    tool_calls TEXT NULL,
    tokens     INTEGER NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    CONSTRAINT ck_chat_messages_role CHECK (role IN ('system', 'user', 'assistant', 'tool')),
    CONSTRAINT fk_chat_messages_chat FOREIGN KEY (chat_id)
        REFERENCES chats (id) ON DELETE CASCADE
);

CREATE INDEX ix_chat_messages_chat_created ON chat_messages (chat_id, created_at);

CREATE TRIGGER trg_chat_messages_track
AFTER INSERT ON chat_messages
FOR EACH ROW
BEGIN
    UPDATE chats
       SET message_count   = message_count + 1,
           last_message_at = NEW.created_at
     WHERE id = NEW.chat_id;
    -- The first user message names the chat.
    UPDATE chats
       SET title = substr(NEW.content, 1, 120)
     WHERE id = NEW.chat_id
       AND title IS NULL
       AND NEW.role = 'user';
END;
