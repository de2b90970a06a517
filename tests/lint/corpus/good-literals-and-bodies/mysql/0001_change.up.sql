-- Trigger bodies are not migration statements.
CREATE TRIGGER trg_touch AFTER INSERT ON orders FOR EACH ROW
BEGIN
    UPDATE users SET updated_at = NOW() WHERE id = NEW.user_id;
END;
INSERT INTO audit (note) VALUES ('ALTER TABLE users DROP COLUMN x; UPDATE users SET y = 1');
