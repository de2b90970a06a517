-- Expand step of chat_messages.tokens -> chat_messages.token_count: nullable new column; the
-- application writes both from this release on and reads token_count first.
-- workflow_runs.duration_ms: precomputed for the run-history charts; finished runs from before
-- this migration are filled by backfills/workflow_runs_duration_ms.toml.

ALTER TABLE chat_messages ADD COLUMN token_count INTEGER NULL;

ALTER TABLE workflow_runs ADD COLUMN duration_ms INTEGER NULL;
