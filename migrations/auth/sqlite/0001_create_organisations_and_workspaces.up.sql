-- Tenancy root: an organisation owns workspaces; every other platform object hangs off a workspace.
-- Timestamps are ISO-8601 UTC text. The AFTER UPDATE triggers keep updated_at honest for UPDATEs
-- that forget to set it (recursive triggers are off, so the inner UPDATE does not re-fire them).

CREATE TABLE organisations (
    id            INTEGER CONSTRAINT pk_organisations PRIMARY KEY AUTOINCREMENT,
    slug          TEXT NOT NULL,
    name          TEXT NOT NULL,
    plan          TEXT NOT NULL DEFAULT 'free',
    billing_email TEXT NULL,
    created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    CONSTRAINT uq_organisations_slug UNIQUE (slug),
    CONSTRAINT ck_organisations_slug CHECK (length(slug) BETWEEN 2 AND 63 AND slug NOT GLOB '*[^a-z0-9-]*' AND slug NOT GLOB '-*'),
    CONSTRAINT ck_organisations_plan CHECK (plan IN ('free', 'team', 'enterprise'))
);

CREATE TRIGGER trg_organisations_updated_at
AFTER UPDATE ON organisations
FOR EACH ROW WHEN NEW.updated_at = OLD.updated_at
BEGIN
    UPDATE organisations SET updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = NEW.id;
END;

CREATE TABLE workspaces (
    id              INTEGER CONSTRAINT pk_workspaces PRIMARY KEY AUTOINCREMENT,
    organisation_id INTEGER NOT NULL,
    slug            TEXT NOT NULL,
    name            TEXT NOT NULL,
    region          TEXT NOT NULL DEFAULT 'eu-west-1',
    archived_at     TEXT NULL,
    created_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    CONSTRAINT uq_workspaces_organisation_slug UNIQUE (organisation_id, slug),
    CONSTRAINT ck_workspaces_slug CHECK (length(slug) BETWEEN 2 AND 63 AND slug NOT GLOB '*[^a-z0-9-]*' AND slug NOT GLOB '-*'),
    CONSTRAINT fk_workspaces_organisation FOREIGN KEY (organisation_id)
        REFERENCES organisations (id) ON DELETE CASCADE
);

CREATE INDEX ix_workspaces_archived_at ON workspaces (archived_at);

CREATE TRIGGER trg_workspaces_updated_at
AFTER UPDATE ON workspaces
FOR EACH ROW WHEN NEW.updated_at = OLD.updated_at
BEGIN
    UPDATE workspaces SET updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = NEW.id;
END;
