-- An inline REFERENCES on a new column of an existing table.
ALTER TABLE orders ADD COLUMN coupon_id bigint REFERENCES coupons (id);
