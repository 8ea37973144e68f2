-- The order lifecycle after the decision: payment, cancellation, expiry,
-- fulfilment, and an append-only timeline of every transition. See
-- services/kernel/lifecycle for the transition rule.
ALTER TABLE orders DROP CONSTRAINT orders_status_check;
ALTER TABLE orders ADD CONSTRAINT orders_status_check
    CHECK (status IN ('confirmed', 'failed', 'paid', 'shipped', 'delivered', 'cancelled', 'expired'));
-- payment_due_at: a confirmed order not paid by then expires (order-worker).
-- status_changed_at: when the order entered its current status.
ALTER TABLE orders
    ADD COLUMN payment_due_at    timestamptz,
    ADD COLUMN status_changed_at timestamptz,
    ADD COLUMN carrier           text CHECK (length(carrier) BETWEEN 1 AND 64),
    ADD COLUMN tracking_number   text CHECK (length(tracking_number) BETWEEN 1 AND 128);
UPDATE orders SET status_changed_at = processed_at;
-- Orders confirmed before payments existed keep payment_due_at NULL: they
-- never expire on their own (an admin cancels them if they should not ship).
ALTER TABLE orders ALTER COLUMN status_changed_at SET DEFAULT now(), ALTER COLUMN status_changed_at SET NOT NULL;
-- The expiry sweep reads only unpaid confirmed orders, oldest deadline first.
CREATE INDEX orders_payment_due ON orders (payment_due_at) WHERE status = 'confirmed';

-- One row per transition or payment fact, never changed afterwards except
-- for notified_at, which order-worker's notifier relay sets once it told the
-- customer (or decided there was nothing to tell). Rows are deleted only
-- with their order (a dead-lettered order reopened for replay).
CREATE TABLE order_events (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id    uuid        NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    type        text        NOT NULL CHECK (type IN ('confirmed', 'failed', 'payment_failed', 'paid', 'shipped',
                    'delivered', 'cancelled', 'expired', 'refunded', 'refund_failed')),
    status      text        NOT NULL,   -- the order's status after the event
    actor       text        NOT NULL,   -- user:ID, admin:ID, order-worker, stripe, payments
    reason      text,
    payment_id  uuid,
    refund_id   text,
    detail      jsonb       NOT NULL DEFAULT '{}',
    traceparent text        NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    notified_at timestamptz
);
CREATE INDEX order_events_by_order ON order_events (order_id, id);
CREATE INDEX order_events_unnotified ON order_events (id) WHERE notified_at IS NULL;
ALTER TABLE order_events SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_analyze_scale_factor = 0.01);

CREATE FUNCTION order_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.id, NEW.order_id, NEW.type, NEW.status, NEW.actor, NEW.reason, NEW.payment_id, NEW.refund_id,
        NEW.detail, NEW.traceparent, NEW.created_at)
       IS DISTINCT FROM
       (OLD.id, OLD.order_id, OLD.type, OLD.status, OLD.actor, OLD.reason, OLD.payment_id, OLD.refund_id,
        OLD.detail, OLD.traceparent, OLD.created_at)
       OR (OLD.notified_at IS NOT NULL AND NEW.notified_at IS DISTINCT FROM OLD.notified_at) THEN
        RAISE EXCEPTION 'order_events is append-only (only notified_at may be set, once)';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER order_events_append_only BEFORE UPDATE ON order_events
    FOR EACH ROW EXECUTE FUNCTION order_events_append_only();

-- Timeline rows for the orders decided before this migration.
INSERT INTO order_events (order_id, type, status, actor, reason, created_at, notified_at)
SELECT id, status, status, 'order-worker', failure_reason, processed_at, processed_at FROM orders ORDER BY processed_at;

-- A payment attempt is recorded before the provider is called (status
-- pending), so a crash between the two leaves a row the recovery sweep
-- settles: retried with the same idempotency key, or settled by the
-- provider's webhook. Only one payment moves an order to paid (the order's
-- status is checked under its row lock); any other that succeeds anyway is
-- refunded. A payment is refunded at most once: refund_state becomes
-- pending once, under the order's lock, before the provider is asked with
-- an idempotency key derived from the payment.
CREATE TABLE payments (
    id              uuid        PRIMARY KEY,
    order_id        uuid        NOT NULL REFERENCES orders (id),
    provider        text        NOT NULL,
    idempotency_key text        NOT NULL,
    status          text        NOT NULL CHECK (status IN ('pending', 'processing', 'succeeded', 'failed')),
    amount_minor    bigint      NOT NULL CHECK (amount_minor >= 0),
    currency        char(3)     NOT NULL,
    method_ref      text        NOT NULL DEFAULT '',  -- a provider token (pm_...), never card data
    provider_ref    text,                             -- PaymentIntent id or mock charge id
    failure_reason  text,
    refund_state    text        CHECK (refund_state IN ('pending', 'succeeded', 'failed')),
    refund_ref      text,
    refund_attempts integer     NOT NULL DEFAULT 0,   -- refund requests the provider refused
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (order_id, idempotency_key)
);
CREATE UNIQUE INDEX payments_provider_ref ON payments (provider, provider_ref);
CREATE INDEX payments_unsettled ON payments (updated_at)
    WHERE status IN ('pending', 'processing') OR refund_state = 'pending';
