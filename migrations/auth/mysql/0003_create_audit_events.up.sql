-- Append-only audit trail. Rows are written by the API on every security-relevant action
-- (login, role change, secret read; ...) and are never updated.

CREATE TABLE audit_events (
    id              BIGINT       NOT NULL AUTO_INCREMENT,
    organisation_id BIGINT       NOT NULL,
    actor_user_id   BIGINT       NULL,
    action          VARCHAR(100) COLLATE utf8mb4_bin NOT NULL,
    target_type     VARCHAR(64)  NULL,
    target_id       VARCHAR(120) NULL,
    ip_address      VARCHAR(45)  NULL,
    user_agent      VARCHAR(512) NULL,
    metadata        JSON         NOT NULL DEFAULT ('{}'),
    occurred_at     DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    PRIMARY KEY (id),
    KEY ix_audit_events_organisation_occurred (organisation_id, occurred_at),
    KEY ix_audit_events_actor (actor_user_id),
    KEY ix_audit_events_target (target_type, target_id),
    CONSTRAINT ck_audit_events_action CHECK (action REGEXP '^[a-z_]+([.][a-z_]+)+$'),
    CONSTRAINT fk_audit_events_organisation FOREIGN KEY (organisation_id)
        REFERENCES organisations (id) ON DELETE CASCADE,
    CONSTRAINT fk_audit_events_actor FOREIGN KEY (actor_user_id)
        REFERENCES users (id) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
