-- Data profiles computed by the profiler job: one table_profiles row per run, one
-- column_profiles row per profiled column.

CREATE TABLE table_profiles (
    id               BIGINT       NOT NULL AUTO_INCREMENT,
    managed_table_id BIGINT       NOT NULL,
    status           VARCHAR(16)  NOT NULL DEFAULT 'running',
    profiler_version VARCHAR(32)  NOT NULL,
    row_count        BIGINT       NULL,
    sample_fraction  DECIMAL(5,4) NOT NULL DEFAULT 1.0,
    error_message    TEXT         NULL,
    profiled_at      DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    finished_at      DATETIME(6)  NULL,
    PRIMARY KEY (id),
    KEY ix_table_profiles_table_profiled (managed_table_id, profiled_at),
    CONSTRAINT ck_table_profiles_status CHECK (status IN ('running', 'succeeded', 'failed')),
    CONSTRAINT ck_table_profiles_sample_fraction CHECK (sample_fraction > 0 AND sample_fraction <= 1),
    CONSTRAINT fk_table_profiles_table FOREIGN KEY (managed_table_id)
        REFERENCES managed_tables (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE column_profiles (
    id               BIGINT       NOT NULL AUTO_INCREMENT,
    table_profile_id BIGINT       NOT NULL,
    column_name      VARCHAR(128) NOT NULL,
    distinct_count   BIGINT       NULL,
    null_count       BIGINT       NULL,
    min_value        TEXT         NULL,
    max_value        TEXT         NULL,
    histogram        JSON         NULL,
    PRIMARY KEY (id),
    CONSTRAINT uq_column_profiles_profile_column UNIQUE KEY (table_profile_id, column_name),
    CONSTRAINT fk_column_profiles_profile FOREIGN KEY (table_profile_id)
        REFERENCES table_profiles (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
