CREATE TRIGGER trg_touch AFTER INSERT ON orders
BEGIN
    UPDATE users SET updated_at = CURRENT_TIMESTAMP WHERE id = NEW.user_id;
END;
