-- Append-only audit trail. Rows are written by the API on every security-relevant action
-- (login, role change, secret read; ...) and are never updated.

CREATE TABLE audit_events (
    id              bigint GENERATED ALWAYS AS IDENTITY,
    organisation_id bigint      NOT NULL,
    actor_user_id   bigint      NULL,
    action          text        NOT NULL,
    target_type     text        NULL,
    target_id       text        NULL,
    ip_address      inet        NULL,
    user_agent      text        NULL,
    metadata        jsonb       NOT NULL DEFAULT '{}'::jsonb,
    occurred_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk_audit_events PRIMARY KEY (id),
    CONSTRAINT ck_audit_events_action CHECK (action ~ '^[a-z_]+([.][a-z_]+)+$'),
    CONSTRAINT fk_audit_events_organisation FOREIGN KEY (organisation_id)
        REFERENCES organisations (id) ON DELETE CASCADE,
    CONSTRAINT fk_audit_events_actor FOREIGN KEY (actor_user_id)
        REFERENCES users (id) ON DELETE SET NULL
);

CREATE INDEX ix_audit_events_organisation_occurred ON audit_events (organisation_id, occurred_at);
CREATE INDEX ix_audit_events_actor ON audit_events (actor_user_id);
CREATE INDEX ix_audit_events_target ON audit_events (target_type, target_id);
