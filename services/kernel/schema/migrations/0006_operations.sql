-- The admin operations console: every action an admin takes on queues,
-- dead letters and the catalogue sync is recorded here (who, what, on which
-- target, why), and a full catalogue reconcile can be requested by an admin
-- and is run by one catalog-sync replica.
CREATE TABLE admin_actions (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    admin_id    bigint      NOT NULL REFERENCES users (id),
    admin_email text        NOT NULL,
    action      text        NOT NULL CHECK (length(action) BETWEEN 1 AND 64),
    target      text        NOT NULL,
    reason      text        NOT NULL CHECK (length(reason) BETWEEN 1 AND 500),
    detail      jsonb       NOT NULL DEFAULT '{}'
);
CREATE INDEX admin_actions_at ON admin_actions (at DESC);

CREATE TABLE catalog_reconcile_requests (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    requested_at timestamptz NOT NULL DEFAULT now(),
    requested_by bigint      NOT NULL REFERENCES users (id),
    reason       text        NOT NULL,
    started_at   timestamptz,
    started_by   text,
    finished_at  timestamptz,
    products     integer,
    missing      integer,
    stale        integer,
    extra        integer,
    error        text
);
CREATE INDEX catalog_reconcile_requests_open ON catalog_reconcile_requests (id) WHERE finished_at IS NULL;
