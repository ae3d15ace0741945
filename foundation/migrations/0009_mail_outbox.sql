-- Outgoing mail goes through an outbox: a request writes its message in the same
-- transaction as the state it reports (a recovery token), and a background sender
-- in every worker delivers it. So /auth/v1/recover answers without waiting on SMTP,
-- and its timing no longer tells whether an account exists.
CREATE TABLE mail_outbox (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    recipient        text NOT NULL,
    subject          text NOT NULL,
    -- NULL once the message is sent or given up: a body may hold a secret (a
    -- recovery code), which is kept only as long as it is needed for delivery.
    body             text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    -- Incremented when a sender claims the message, before it talks to SMTP.
    attempts         integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    -- When a sender may (next) claim it; a claim pushes it forward as a lease.
    -- NULL (and not sent): given up, after too many failures or a permanent refusal.
    next_attempt_at  timestamptz DEFAULT now(),
    sent_at          timestamptz,
    last_error       text,
    CHECK (sent_at IS NULL OR body IS NULL)
);
-- The senders' queue: unsent messages by when they are due.
CREATE INDEX mail_outbox_due_idx ON mail_outbox (next_attempt_at) WHERE sent_at IS NULL;

-- Role grants: every worker caches a user's granted roles, and forgets them the
-- moment this notification arrives, whoever changed user_roles (the admin API,
-- an erasure, psql). The payload is the user id; '*' after a TRUNCATE.
CREATE FUNCTION notify_user_roles_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        PERFORM pg_notify('skybound_roles', '*');
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('skybound_roles', OLD.user_id::text);
    ELSE
        PERFORM pg_notify('skybound_roles', NEW.user_id::text);
        IF TG_OP = 'UPDATE' AND OLD.user_id IS DISTINCT FROM NEW.user_id THEN
            PERFORM pg_notify('skybound_roles', OLD.user_id::text);
        END IF;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER user_roles_notify
    AFTER INSERT OR UPDATE OR DELETE ON user_roles
    FOR EACH ROW EXECUTE FUNCTION notify_user_roles_changed();
CREATE TRIGGER user_roles_notify_truncate
    AFTER TRUNCATE ON user_roles
    FOR EACH STATEMENT EXECUTE FUNCTION notify_user_roles_changed();
