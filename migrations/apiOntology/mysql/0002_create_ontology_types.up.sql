-- Object / link / interface types of the ontology and their properties, per branch.
-- title is superseded by display_name (0005 expand, 0007 deprecate, 0008 contract).

CREATE TABLE ontology_types (
    id          BIGINT       NOT NULL AUTO_INCREMENT,
    branch_id   BIGINT       NOT NULL,
    api_name    VARCHAR(191) COLLATE utf8mb4_bin NOT NULL,
    title       VARCHAR(255) NULL,
    kind        VARCHAR(16)  NOT NULL DEFAULT 'object',
    json_schema JSON         NOT NULL DEFAULT ('{}'),
    description TEXT         NULL,
    revision    BIGINT       NOT NULL DEFAULT 0,
    created_at  DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    updated_at  DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
    deleted_at  DATETIME(6)  NULL,
    PRIMARY KEY (id),
    CONSTRAINT uq_ontology_types_branch_api_name UNIQUE KEY (branch_id, api_name),
    KEY ix_ontology_types_branch_kind (branch_id, kind),
    CONSTRAINT ck_ontology_types_kind CHECK (kind IN ('object', 'link', 'interface', 'enum')),
    CONSTRAINT ck_ontology_types_api_name CHECK (api_name <> '' AND api_name NOT LIKE '% %'),
    CONSTRAINT fk_ontology_types_branch FOREIGN KEY (branch_id)
        REFERENCES ontology_branches (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE ontology_properties (
    id               BIGINT       NOT NULL AUTO_INCREMENT,
    ontology_type_id BIGINT       NOT NULL,
    api_name         VARCHAR(191) COLLATE utf8mb4_bin NOT NULL,
    data_type        VARCHAR(16)  NOT NULL,
    is_required      BOOLEAN      NOT NULL DEFAULT FALSE,
    is_primary_key   BOOLEAN      NOT NULL DEFAULT FALSE,
    ordinal          INT          NOT NULL,
    description      TEXT         NULL,
    created_at       DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    PRIMARY KEY (id),
    CONSTRAINT uq_ontology_properties_type_api_name UNIQUE KEY (ontology_type_id, api_name),
    CONSTRAINT ck_ontology_properties_data_type CHECK (data_type IN ('string', 'integer', 'double', 'boolean', 'timestamp', 'date', 'geopoint', 'array', 'struct', 'reference')),
    CONSTRAINT fk_ontology_properties_type FOREIGN KEY (ontology_type_id)
        REFERENCES ontology_types (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
