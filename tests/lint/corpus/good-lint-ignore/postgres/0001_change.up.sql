-- plans is a lookup table with a dozen rows: locking it for a moment is fine.
-- migrator:lint-ignore require-concurrent-index-creation reason: plans has a dozen rows
CREATE INDEX ix_plans_code ON plans (code);

-- migrator:lint-ignore constraint-missing-not-valid,adding-foreign-key-constraint reason: a dozen rows
ALTER TABLE plans ADD CONSTRAINT fk_plans_tier FOREIGN KEY (tier_id) REFERENCES tiers (id);
-- migrator:lint-ignore backfill-in-migration, changing-column-type reason: a dozen rows
UPDATE plans SET code = lower(code);
