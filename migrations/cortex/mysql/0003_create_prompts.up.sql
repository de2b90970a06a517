-- Prompts are named templates; every edit is a new immutable prompt version. The current
-- version of a prompt is its newest published one (view current_prompt_versions).

CREATE TABLE prompts (
    id              BIGINT       NOT NULL AUTO_INCREMENT,
    organisation_id BIGINT       NOT NULL,
    slug            VARCHAR(191) COLLATE utf8mb4_bin NOT NULL,
    description     TEXT         NULL,
    created_at      DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    updated_at      DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
    PRIMARY KEY (id),
    CONSTRAINT uq_prompts_org_slug UNIQUE KEY (organisation_id, slug)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE prompt_versions (
    id                 BIGINT       NOT NULL AUTO_INCREMENT,
    prompt_id          BIGINT       NOT NULL,
    version_number     INT          NOT NULL,
    template           MEDIUMTEXT   NOT NULL,
    variables          JSON         NOT NULL DEFAULT ('[]'),
    model_endpoint_id  BIGINT       NULL,
    temperature        DECIMAL(4,3) NULL,
    created_by_user_id BIGINT       NULL,
    published_at       DATETIME(6)  NULL,
    created_at         DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    PRIMARY KEY (id),
    CONSTRAINT uq_prompt_versions_prompt_number UNIQUE KEY (prompt_id, version_number),
    KEY ix_prompt_versions_endpoint (model_endpoint_id),
    CONSTRAINT ck_prompt_versions_template CHECK (template <> ''),
    CONSTRAINT ck_prompt_versions_temperature CHECK (temperature IS NULL OR (temperature >= 0 AND temperature <= 2)),
    CONSTRAINT fk_prompt_versions_prompt FOREIGN KEY (prompt_id)
        REFERENCES prompts (id) ON DELETE CASCADE,
    CONSTRAINT fk_prompt_versions_endpoint FOREIGN KEY (model_endpoint_id)
        REFERENCES model_endpoints (id) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE VIEW current_prompt_versions AS
SELECT v.prompt_id,
       v.id                AS prompt_version_id,
       v.version_number,
       v.model_endpoint_id,
       v.published_at
  FROM prompt_versions v
 WHERE v.published_at IS NOT NULL
   AND v.version_number = (SELECT MAX(v2.version_number)
                             FROM prompt_versions v2
                            WHERE v2.prompt_id = v.prompt_id
                              AND v2.published_at IS NOT NULL);
