-- catalog-sync's relay takes only the oldest pending event of each product
-- (per-product order across replicas) and backs off a failing event without
-- blocking the others.
ALTER TABLE catalog_outbox ADD COLUMN next_attempt_at timestamptz;
CREATE INDEX catalog_outbox_pending_product ON catalog_outbox (product_id, id)
    WHERE processed_at IS NULL AND dead_at IS NULL;
CREATE INDEX catalog_outbox_dead ON catalog_outbox (id) WHERE dead_at IS NOT NULL;
