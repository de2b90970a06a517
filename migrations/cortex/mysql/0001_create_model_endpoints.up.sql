-- Model endpoints: the LLM / embedding models an organisation can call, and daily usage per endpoint.
-- api_key_secret_name names a secret of the auth service (another database): no foreign key.
-- max_tokens is superseded by max_output_tokens (0005 expand, 0007 deprecate, 0008 contract).

CREATE TABLE model_endpoints (
    id                  BIGINT        NOT NULL AUTO_INCREMENT,
    organisation_id     BIGINT        NOT NULL,
    name                VARCHAR(191)  NOT NULL,
    provider            VARCHAR(32)   NOT NULL,
    model_name          VARCHAR(128)  NOT NULL,
    base_url            VARCHAR(1024) NULL,
    api_key_secret_name VARCHAR(128)  NULL,
    max_tokens          INT           NULL,
    context_window      INT           NULL,
    status              VARCHAR(16)   NOT NULL DEFAULT 'active',
    created_at          DATETIME(6)   NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    updated_at          DATETIME(6)   NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
    PRIMARY KEY (id),
    CONSTRAINT uq_model_endpoints_org_name UNIQUE KEY (organisation_id, name),
    KEY ix_model_endpoints_provider_model (provider, model_name),
    CONSTRAINT ck_model_endpoints_provider CHECK (provider IN ('openai', 'anthropic', 'azure-openai', 'bedrock', 'vertex', 'vllm', 'ollama')),
    CONSTRAINT ck_model_endpoints_status CHECK (status IN ('active', 'disabled', 'deprecated')),
    CONSTRAINT ck_model_endpoints_context_window CHECK (context_window IS NULL OR context_window > 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE model_endpoint_usage_daily (
    id                BIGINT NOT NULL AUTO_INCREMENT,
    model_endpoint_id BIGINT NOT NULL,
    usage_date        DATE   NOT NULL,
    request_count     BIGINT NOT NULL DEFAULT 0,
    error_count       BIGINT NOT NULL DEFAULT 0,
    input_tokens      BIGINT NOT NULL DEFAULT 0,
    output_tokens     BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (id),
    CONSTRAINT uq_model_endpoint_usage_daily_endpoint_date UNIQUE KEY (model_endpoint_id, usage_date),
    CONSTRAINT fk_model_endpoint_usage_daily_endpoint FOREIGN KEY (model_endpoint_id)
        REFERENCES model_endpoints (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
