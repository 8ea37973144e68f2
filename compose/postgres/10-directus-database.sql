-- Runs once, when the postgres volume is initialised (docker-entrypoint-initdb.d).
-- Directus keeps its own tables (and its own `products` collection) in a
-- database of its own: the shop's `products` table lives in `shop`.
CREATE DATABASE directus;
