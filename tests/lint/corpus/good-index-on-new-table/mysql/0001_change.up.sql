CREATE TABLE coupons (
    id      BIGINT      NOT NULL AUTO_INCREMENT PRIMARY KEY,
    code    VARCHAR(64) NOT NULL,
    user_id BIGINT      NULL,
    CONSTRAINT fk_coupons_user FOREIGN KEY (user_id) REFERENCES users (id)
) ENGINE=InnoDB;
CREATE UNIQUE INDEX ix_coupons_code ON coupons (code);
ALTER TABLE coupons ADD COLUMN owner_id BIGINT NOT NULL;
