-- catalog-sync coalesces a product's pending events: it sends only the
-- newest snapshot and settles the older ones as superseded. `outcome` says
-- how each row was settled (created, updated, stale = Directus already had
-- it or newer, superseded = a newer snapshot of the product was sent
-- instead); NULL for rows settled before this migration and for pending or
-- dead rows.
ALTER TABLE catalog_outbox ADD COLUMN outcome text
    CHECK (outcome IN ('created', 'updated', 'stale', 'superseded'));

-- One notification per inserting statement instead of one per row: the
-- relay only needs a wake-up, and an order touching three products (or a
-- burst of orders decided in one transaction) used to queue one NOTIFY per
-- product. Postgres folds identical notifications of one transaction.
DROP TRIGGER catalog_outbox_notify ON catalog_outbox;
CREATE OR REPLACE FUNCTION catalog_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('catalog_outbox', '');
    RETURN NULL;
END
$$;
CREATE TRIGGER catalog_outbox_notify AFTER INSERT ON catalog_outbox
    FOR EACH STATEMENT EXECUTE FUNCTION catalog_outbox_notify();

-- created_at is when the event was written, not when its transaction
-- began: the sync lag (processed_at - created_at) then measures catalog-sync,
-- not how long an order-worker transaction waited for row locks first.
ALTER TABLE catalog_outbox ALTER COLUMN created_at SET DEFAULT clock_timestamp();

-- Every order changes a few products, so the outbox takes thousands of
-- inserts and updates a minute: vacuum and analyze it after 1 % of its rows
-- changed rather than the default 20 % / 10 %, so its pending indexes stay
-- small and its statistics current.
ALTER TABLE catalog_outbox SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_analyze_scale_factor = 0.01);
