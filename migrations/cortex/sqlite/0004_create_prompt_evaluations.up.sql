-- Offline evaluation runs of a prompt version against a named dataset.

CREATE TABLE prompt_evaluations (
    id                INTEGER CONSTRAINT pk_prompt_evaluations PRIMARY KEY AUTOINCREMENT,
    prompt_version_id INTEGER NOT NULL,
    dataset_name      TEXT NOT NULL,
    evaluator         TEXT NOT NULL DEFAULT 'llm-judge',
    status            TEXT NOT NULL DEFAULT 'running',
    sample_count      INTEGER NOT NULL DEFAULT 0,
    score             REAL NULL,
    metrics           TEXT NOT NULL DEFAULT '{}',
    evaluated_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    CONSTRAINT ck_prompt_evaluations_status CHECK (status IN ('running', 'succeeded', 'failed')),
    CONSTRAINT ck_prompt_evaluations_score CHECK (score IS NULL OR (score >= 0 AND score <= 1)),
    CONSTRAINT fk_prompt_evaluations_version FOREIGN KEY (prompt_version_id)
        REFERENCES prompt_versions (id) ON DELETE CASCADE
);

CREATE INDEX ix_prompt_evaluations_version_evaluated ON prompt_evaluations (prompt_version_id, evaluated_at);
