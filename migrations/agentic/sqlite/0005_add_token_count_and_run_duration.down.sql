ALTER TABLE workflow_runs DROP COLUMN duration_ms;

ALTER TABLE chat_messages DROP COLUMN token_count;
