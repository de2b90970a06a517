-- Prompts are named templates; every edit is a new immutable prompt version. The current
-- version of a prompt is its newest published one (view current_prompt_versions).

CREATE TABLE prompts (
    id              INTEGER CONSTRAINT pk_prompts PRIMARY KEY AUTOINCREMENT,
    organisation_id INTEGER NOT NULL,
    slug            TEXT NOT NULL,
    description     TEXT NULL,
    created_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    CONSTRAINT uq_prompts_org_slug UNIQUE (organisation_id, slug)
);

CREATE TABLE prompt_versions (
    id                 INTEGER CONSTRAINT pk_prompt_versions PRIMARY KEY AUTOINCREMENT,
    prompt_id          INTEGER NOT NULL,
    version_number     INTEGER NOT NULL,
    template           TEXT NOT NULL,
    variables          TEXT NOT NULL DEFAULT '[]',
    model_endpoint_id  INTEGER NULL,
    temperature        REAL NULL,
    created_by_user_id INTEGER NULL,
    published_at       TEXT NULL,
    created_at         TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    CONSTRAINT uq_prompt_versions_prompt_number UNIQUE (prompt_id, version_number),
    CONSTRAINT ck_prompt_versions_template CHECK (template <> ''),
    CONSTRAINT ck_prompt_versions_temperature CHECK (temperature IS NULL OR (temperature >= 0 AND temperature <= 2)),
    CONSTRAINT fk_prompt_versions_prompt FOREIGN KEY (prompt_id)
        REFERENCES prompts (id) ON DELETE CASCADE,
    CONSTRAINT fk_prompt_versions_endpoint FOREIGN KEY (model_endpoint_id)
        REFERENCES model_endpoints (id) ON DELETE SET NULL
);

CREATE INDEX ix_prompt_versions_endpoint ON prompt_versions (model_endpoint_id);

CREATE VIEW current_prompt_versions AS
SELECT v.prompt_id,
       v.id                AS prompt_version_id,
       v.version_number,
       v.model_endpoint_id,
       v.published_at
  FROM prompt_versions v
 WHERE v.published_at IS NOT NULL
   AND v.version_number = (SELECT max(v2.version_number)
                             FROM prompt_versions v2
                            WHERE v2.prompt_id = v.prompt_id
                              AND v2.published_at IS NOT NULL);
