-- PostgreSQL takes one database-wide lock at the commit of every
-- transaction that sent a NOTIFY and holds it until the commit is flushed
-- (and acknowledged by a synchronous standby), so that notifications are
-- queued in commit order: transactions that notify commit one at a time.
-- order-worker's order transactions therefore mark themselves with
-- shop.catalog_notify = 'deferred' (transaction-local) and wake catalog-sync
-- with their own NOTIFY after the commit; every other writer of the outbox
-- (api, manual SQL) keeps the wake-up from this trigger.
CREATE OR REPLACE FUNCTION catalog_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('shop.catalog_notify', true) IS DISTINCT FROM 'deferred' THEN
        PERFORM pg_notify('catalog_outbox', '');
    END IF;
    RETURN NULL;
END
$$;
