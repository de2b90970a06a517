-- Offline evaluation runs of a prompt version against a named dataset.

CREATE TABLE prompt_evaluations (
    id                BIGINT       NOT NULL AUTO_INCREMENT,
    prompt_version_id BIGINT       NOT NULL,
    dataset_name      VARCHAR(191) NOT NULL,
    evaluator         VARCHAR(64)  NOT NULL DEFAULT 'llm-judge',
    status            VARCHAR(16)  NOT NULL DEFAULT 'running',
    sample_count      INT          NOT NULL DEFAULT 0,
    score             DECIMAL(6,4) NULL,
    metrics           JSON         NOT NULL DEFAULT ('{}'),
    evaluated_at      DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    PRIMARY KEY (id),
    KEY ix_prompt_evaluations_version_evaluated (prompt_version_id, evaluated_at),
    CONSTRAINT ck_prompt_evaluations_status CHECK (status IN ('running', 'succeeded', 'failed')),
    CONSTRAINT ck_prompt_evaluations_score CHECK (score IS NULL OR (score >= 0 AND score <= 1)),
    CONSTRAINT fk_prompt_evaluations_version FOREIGN KEY (prompt_version_id)
        REFERENCES prompt_versions (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
