CREATE TABLE plans (code text PRIMARY KEY, name text NOT NULL, active boolean NULL);
INSERT INTO plans (code, name) VALUES ('free', 'Free'), ('team', 'Team');
UPDATE plans SET active = true;
DELETE FROM plans WHERE code = 'team';
