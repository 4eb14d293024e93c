-- Rasa's tracker store: a database of its own on the same PostgreSQL (Rasa creates its table).
CREATE DATABASE shopchat_rasa OWNER shopchat;
