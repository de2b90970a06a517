-- Append-only audit trail. Rows are written by the API on every security-relevant action
-- (login, role change, secret read; ...) and are never updated.

CREATE TABLE audit_events (
    id              INTEGER CONSTRAINT pk_audit_events PRIMARY KEY AUTOINCREMENT,
    organisation_id INTEGER NOT NULL,
    actor_user_id   INTEGER NULL,
    action          TEXT NOT NULL,
    target_type     TEXT NULL,
    target_id       TEXT NULL,
    ip_address      TEXT NULL,
    user_agent      TEXT NULL,
    metadata        TEXT NOT NULL DEFAULT '{}',
    occurred_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    CONSTRAINT ck_audit_events_action CHECK (action GLOB '[a-z_]*.[a-z_]*' AND action NOT GLOB '*[^a-z_.]*'),
    CONSTRAINT fk_audit_events_organisation FOREIGN KEY (organisation_id)
        REFERENCES organisations (id) ON DELETE CASCADE,
    CONSTRAINT fk_audit_events_actor FOREIGN KEY (actor_user_id)
        REFERENCES users (id) ON DELETE SET NULL
);

CREATE INDEX ix_audit_events_organisation_occurred ON audit_events (organisation_id, occurred_at);
CREATE INDEX ix_audit_events_actor ON audit_events (actor_user_id);
CREATE INDEX ix_audit_events_target ON audit_events (target_type, target_id);
