CREATE TABLE plans (code TEXT PRIMARY KEY, name TEXT NOT NULL, active INTEGER NULL);
INSERT INTO plans (code, name) VALUES ('free', 'Free'), ('team', 'Team');
UPDATE plans SET active = 1;
DELETE FROM plans WHERE code = 'team';
