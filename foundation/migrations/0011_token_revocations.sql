-- Ending an account (GDPR erasure) must also end the tokens it was given. Access
-- tokens are JWTs that every worker verifies locally, so a worker has to be told:
-- a token of this user issued at or before the second of revoked_at no longer
-- counts. Kept per user, not per token, and for users of Supabase Auth too (whose
-- accounts Skybound cannot delete), so no user id here references auth_users.
CREATE TABLE token_revocations (
    user_id     uuid PRIMARY KEY,
    revoked_at  timestamptz NOT NULL
);

-- Workers keep a revocation with the user's granted roles, in one cache, and forget
-- both on the same notification (migration 0009's function sends the user's id on
-- skybound_roles), so a revocation reaches every worker over the LISTEN connection
-- each already holds.
CREATE TRIGGER token_revocations_notify
    AFTER INSERT OR UPDATE OR DELETE ON token_revocations
    FOR EACH ROW EXECUTE FUNCTION notify_user_roles_changed();
CREATE TRIGGER token_revocations_notify_truncate
    AFTER TRUNCATE ON token_revocations
    FOR EACH STATEMENT EXECUTE FUNCTION notify_user_roles_changed();

-- A ticket stands for the token it was issued with; redeeming it checks that token's
-- issue time against a revocation made since. NULL for tickets issued before this
-- migration (they last a minute) and for tokens without an iat claim.
ALTER TABLE stream_tickets ADD COLUMN token_issued_at timestamptz;
