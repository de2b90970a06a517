-- Data profiles computed by the profiler job: one table_profiles row per run, one
-- column_profiles row per profiled column.

CREATE TABLE table_profiles (
    id               INTEGER CONSTRAINT pk_table_profiles PRIMARY KEY AUTOINCREMENT,
    managed_table_id INTEGER NOT NULL,
    status           TEXT NOT NULL DEFAULT 'running',
    profiler_version TEXT NOT NULL,
    row_count        INTEGER NULL,
    sample_fraction  REAL NOT NULL DEFAULT 1.0,
    error_message    TEXT NULL,
    profiled_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    finished_at      TEXT NULL,
    CONSTRAINT ck_table_profiles_status CHECK (status IN ('running', 'succeeded', 'failed')),
    CONSTRAINT ck_table_profiles_sample_fraction CHECK (sample_fraction > 0 AND sample_fraction <= 1),
    CONSTRAINT fk_table_profiles_table FOREIGN KEY (managed_table_id)
        REFERENCES managed_tables (id) ON DELETE CASCADE
);

CREATE INDEX ix_table_profiles_table_profiled ON table_profiles (managed_table_id, profiled_at);

CREATE TABLE column_profiles (
    id               INTEGER CONSTRAINT pk_column_profiles PRIMARY KEY AUTOINCREMENT,
    table_profile_id INTEGER NOT NULL,
    column_name      TEXT NOT NULL,
    distinct_count   INTEGER NULL,
    null_count       INTEGER NULL,
    min_value        TEXT NULL,
    max_value        TEXT NULL,
    histogram        TEXT NULL,
    CONSTRAINT uq_column_profiles_profile_column UNIQUE (table_profile_id, column_name),
    CONSTRAINT fk_column_profiles_profile FOREIGN KEY (table_profile_id)
        REFERENCES table_profiles (id) ON DELETE CASCADE
);
