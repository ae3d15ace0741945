-- Operations: the audit log of staff actions, bans, and the indexes staff searches use.

-- Who did what, when and why, through the admin API. Append-only: the database
-- refuses to change or remove a row, whoever asks, so the API cannot offer it either.
CREATE TABLE admin_audit_log (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at           timestamptz NOT NULL DEFAULT now(),
    actor        uuid NOT NULL,
    actor_roles  text[] NOT NULL,
    action       text NOT NULL CHECK (action ~ '^[a-z_]+\.[a-z_]+$'),
    entity       text NOT NULL CHECK (entity IN ('flight', 'user', 'booking')),
    entity_id    text NOT NULL,
    -- What changed: {"field": [old, new]}, or what was done ({"sessions_revoked": 2}).
    changes      jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(changes) = 'object'),
    reason       text,
    request_id   text,
    -- One bulk action writes one row per thing it changed, all with the same batch.
    batch        uuid
);
CREATE INDEX admin_audit_entity_idx ON admin_audit_log (entity, entity_id, id);
CREATE INDEX admin_audit_actor_idx ON admin_audit_log (actor, id);

CREATE FUNCTION refuse_audit_rewrite() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'admin_audit_log is append-only' USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER admin_audit_log_append_only
    BEFORE UPDATE OR DELETE ON admin_audit_log
    FOR EACH ROW EXECUTE FUNCTION refuse_audit_rewrite();
CREATE TRIGGER admin_audit_log_no_truncate
    BEFORE TRUNCATE ON admin_audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_audit_rewrite();

-- A ban keeps a user out until a time: every token of theirs is refused while it lasts,
-- also tokens an outside auth server (Supabase) issues meanwhile. Kept with the user's
-- standing (roles, revocation), so the same notification makes every worker forget it.
CREATE TABLE user_bans (
    user_id    uuid PRIMARY KEY,
    until      timestamptz NOT NULL,
    reason     text NOT NULL,
    banned_by  uuid NOT NULL,
    banned_at  timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER user_bans_notify
    AFTER INSERT OR UPDATE OR DELETE ON user_bans
    FOR EACH ROW EXECUTE FUNCTION notify_user_roles_changed();
CREATE TRIGGER user_bans_notify_truncate
    AFTER TRUNCATE ON user_bans
    FOR EACH STATEMENT EXECUTE FUNCTION notify_user_roles_changed();

-- Sessions ended by staff: a ban, or "revoke all sessions".
ALTER TABLE auth_sessions DROP CONSTRAINT auth_sessions_revoked_reason_check;
ALTER TABLE auth_sessions ADD CONSTRAINT auth_sessions_revoked_reason_check
    CHECK (revoked_reason IN ('logout', 'refresh_token_reuse', 'password_changed',
                              'revoked_by_admin', 'banned'));

-- Staff search users by the start of an email or a name, case-insensitively.
CREATE INDEX profiles_email_prefix_idx ON profiles (lower(email) text_pattern_ops);
CREATE INDEX profiles_family_name_prefix_idx ON profiles (lower(family_name) text_pattern_ops);
CREATE INDEX profiles_given_name_prefix_idx ON profiles (lower(given_name) text_pattern_ops);
CREATE INDEX auth_users_email_prefix_idx ON auth_users (lower(email) text_pattern_ops);

-- Agents find bookings by a passenger's family name, and list them newest first.
CREATE INDEX passengers_family_name_idx ON passengers (lower(family_name) text_pattern_ops);

-- Statistics: sales per day are range scans that never visit the tables (covering
-- indexes by time), and load factors read one service date range of legs.
CREATE INDEX bookings_created_idx ON bookings (created_at, id) INCLUDE (currency);
CREATE INDEX bookings_cancelled_idx ON bookings (cancelled_at) INCLUDE (currency)
    WHERE cancelled_at IS NOT NULL;
CREATE INDEX payments_created_idx ON payments (created_at)
    INCLUDE (kind, status, currency, amount_minor);
CREATE INDEX flights_service_date_idx ON flights (service_date);
