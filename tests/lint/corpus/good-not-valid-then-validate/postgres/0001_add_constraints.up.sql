-- Cheap: the constraints are added without scanning.
ALTER TABLE orders ADD CONSTRAINT fk_orders_user FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;
ALTER TABLE users ADD CONSTRAINT ck_users_full_name_not_null CHECK (full_name IS NOT NULL) NOT VALID;
