CREATE TABLE plans (code VARCHAR(16) PRIMARY KEY, name VARCHAR(64) NOT NULL, active BOOLEAN NULL);
INSERT INTO plans (code, name) VALUES ('free', 'Free'), ('team', 'Team');
UPDATE plans SET active = TRUE;
DELETE FROM plans WHERE code = 'team';
