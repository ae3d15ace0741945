-- Stream tickets: short-lived, single-use credentials for clients that cannot
-- send headers (EventSource), so long-lived tokens never travel in URLs. Only
-- a hash of the ticket is stored; redeeming marks it used in the same row.
CREATE TABLE stream_tickets (
    ticket_hash        bytea PRIMARY KEY,
    user_id            uuid NOT NULL,
    roles              text[] NOT NULL DEFAULT '{}',
    expires_at         timestamptz NOT NULL,
    -- The access token's own expiry: a stream opened with the ticket ends then.
    session_expires_at timestamptz NOT NULL,
    used_at            timestamptz,
    created_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX stream_tickets_expires_idx ON stream_tickets (expires_at);
