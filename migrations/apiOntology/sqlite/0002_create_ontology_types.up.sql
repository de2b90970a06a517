-- Object / link / interface types of the ontology and their properties, per branch.
-- title is superseded by display_name (0005 expand, 0007 deprecate, 0008 contract).

CREATE TABLE ontology_types (
    id          INTEGER CONSTRAINT pk_ontology_types PRIMARY KEY AUTOINCREMENT,
    branch_id   INTEGER NOT NULL,
    api_name    TEXT NOT NULL,
    title       TEXT NULL,
    kind        TEXT NOT NULL DEFAULT 'object',
    json_schema TEXT NOT NULL DEFAULT '{}',
    description TEXT NULL,
    revision    INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    deleted_at  TEXT NULL,
    CONSTRAINT uq_ontology_types_branch_api_name UNIQUE (branch_id, api_name),
    CONSTRAINT ck_ontology_types_kind CHECK (kind IN ('object', 'link', 'interface', 'enum')),
    CONSTRAINT ck_ontology_types_api_name CHECK (api_name <> '' AND api_name NOT LIKE '% %'),
    CONSTRAINT fk_ontology_types_branch FOREIGN KEY (branch_id)
        REFERENCES ontology_branches (id) ON DELETE CASCADE
);

CREATE INDEX ix_ontology_types_branch_kind ON ontology_types (branch_id, kind);

CREATE TABLE ontology_properties (
    id               INTEGER CONSTRAINT pk_ontology_properties PRIMARY KEY AUTOINCREMENT,
    ontology_type_id INTEGER NOT NULL,
    api_name         TEXT NOT NULL,
    data_type        TEXT NOT NULL,
    is_required      INTEGER NOT NULL DEFAULT 0,
    is_primary_key   INTEGER NOT NULL DEFAULT 0,
    ordinal          INTEGER NOT NULL,
    description      TEXT NULL,
    created_at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    CONSTRAINT uq_ontology_properties_type_api_name UNIQUE (ontology_type_id, api_name),
    CONSTRAINT ck_ontology_properties_data_type CHECK (data_type IN ('string', 'integer', 'double', 'boolean', 'timestamp', 'date', 'geopoint', 'array', 'struct', 'reference')),
    CONSTRAINT ck_ontology_properties_flags CHECK (is_required IN (0, 1) AND is_primary_key IN (0, 1)),
    CONSTRAINT fk_ontology_properties_type FOREIGN KEY (ontology_type_id)
        REFERENCES ontology_types (id) ON DELETE CASCADE
);
