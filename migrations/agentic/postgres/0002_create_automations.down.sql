DROP TABLE automations;
