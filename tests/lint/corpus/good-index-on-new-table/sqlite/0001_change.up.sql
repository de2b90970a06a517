CREATE TABLE coupons (id INTEGER PRIMARY KEY, code TEXT NOT NULL);
CREATE UNIQUE INDEX ix_coupons_code ON coupons (code);
