-- migrator:no-transaction
-- Each VALIDATE commits on its own and takes only SHARE UPDATE EXCLUSIVE.
ALTER TABLE orders VALIDATE CONSTRAINT fk_orders_user;
ALTER TABLE users VALIDATE CONSTRAINT ck_users_full_name_not_null;
