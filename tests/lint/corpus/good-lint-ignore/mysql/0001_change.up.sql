-- migrator:lint-ignore alter-without-online-algorithm reason: plans has a dozen rows
CREATE INDEX ix_plans_code ON plans (code);
-- migrator:lint-ignore adding-foreign-key-constraint REASON: a dozen rows
ALTER TABLE plans ADD CONSTRAINT fk_plans_tier FOREIGN KEY (tier_id) REFERENCES tiers (id);
