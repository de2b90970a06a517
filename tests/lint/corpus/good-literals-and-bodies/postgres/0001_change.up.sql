-- Keywords inside comments, strings and function bodies are not statements:
-- UPDATE users SET x = 1; CREATE INDEX ix ON users (a);
CREATE FUNCTION touch_user() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE users SET updated_at = now() WHERE id = NEW.user_id;
    RETURN NEW;
END;
$$;
COMMENT ON TABLE users IS 'never run UPDATE users SET ...; or CREATE INDEX ON users here';
CREATE TRIGGER trg_touch AFTER INSERT ON orders FOR EACH ROW EXECUTE FUNCTION touch_user();
INSERT INTO orders (user_id) SELECT id FROM users WHERE false ON CONFLICT DO NOTHING;
