-- Built-in auth: a GoTrue-compatible account store for running without Supabase.
-- Tables are prefixed auth_ rather than living in an `auth` schema, so that this
-- migration also applies cleanly to a Supabase database, whose `auth` schema
-- belongs to Supabase Auth. Secrets (refresh, recovery tokens) are stored only as
-- SHA-256 hashes; passwords as argon2id hashes.

CREATE TABLE auth_users (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email               text NOT NULL,
    encrypted_password  text NOT NULL,
    -- Sign-up confirms at once (no confirmation email); kept for GoTrue's user shape.
    email_confirmed_at  timestamptz,
    user_metadata       jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(user_metadata) = 'object'),
    -- Set by operators only (e.g. {"roles": ["ops"]}); users cannot change it.
    app_metadata        jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(app_metadata) = 'object'),
    banned_until        timestamptz,
    recovery_sent_at    timestamptz,
    last_sign_in_at     timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX auth_users_email_key ON auth_users (lower(email));

-- A sign-in. Every refresh token descends from the one issued at sign-in, so the
-- session is the token family: revoking it ends every token in it.
CREATE TABLE auth_sessions (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id         uuid NOT NULL REFERENCES auth_users ON DELETE CASCADE,
    -- How the user proved who they are: GoTrue's amr method (password, recovery).
    method          text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    refreshed_at    timestamptz,
    not_after       timestamptz NOT NULL,
    revoked_at      timestamptz,
    revoked_reason  text CHECK (revoked_reason IN ('logout', 'refresh_token_reuse',
                                                   'password_changed')),
    CHECK ((revoked_at IS NULL) = (revoked_reason IS NULL))
);
CREATE INDEX auth_sessions_user_idx ON auth_sessions (user_id) WHERE revoked_at IS NULL;

CREATE TABLE auth_refresh_tokens (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_hash  bytea NOT NULL UNIQUE,
    session_id  uuid NOT NULL REFERENCES auth_sessions ON DELETE CASCADE,
    parent_id   bigint REFERENCES auth_refresh_tokens,
    -- Set when the token is exchanged for its successor: presenting it again is reuse.
    rotated_at  timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX auth_refresh_tokens_session_idx ON auth_refresh_tokens (session_id);

CREATE TABLE auth_recovery_tokens (
    token_hash  bytea PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES auth_users ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz
);
CREATE INDEX auth_recovery_tokens_user_idx ON auth_recovery_tokens (user_id, created_at);

-- Fixed-window counters for throttling (failed sign-ins per account and per IP,
-- sign-ups and recovery requests per IP), shared by every worker and instance.
CREATE TABLE auth_throttle (
    bucket             text PRIMARY KEY,
    window_started_at  timestamptz NOT NULL,
    hits               integer NOT NULL CHECK (hits >= 0)
);
CREATE INDEX auth_throttle_window_idx ON auth_throttle (window_started_at);
