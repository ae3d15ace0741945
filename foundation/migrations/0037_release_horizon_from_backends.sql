-- The release horizon (0002) read from the backends' transaction ids instead of the lock
-- table. Same rule: one more than the newest xid of any running transaction, or our own.
--
-- Why: reading pg_locks copies every lock of every session while holding each lock
-- manager partition, and a booking's transaction holds dozens (tables and their indexes,
-- past the 16 fast-path slots). With 20 booking sessions it cost about 0.85 ms per event
-- and made them queue on LWLock LockManager; the horizon was the most expensive function a
-- booking ran. pg_stat_get_activity(NULL) reads each backend's top-level xid straight from
-- the process array: about 0.07 ms in the same setting.
--
-- Why it is still a horizon: a transaction that took a smaller event id had an xid before
-- it took the id (capture triggers fire after a write), so before ours was taken, and that
-- xid is in its backend's entry until it ends. Subtransactions write under their parent's
-- xid, which is the one a snapshot's xmin judges. The activity table is a per-transaction
-- snapshot, so it is cleared first: a second event of the same transaction must see xids
-- assigned since the first. Prepared transactions (two-phase commit) have no backend and
-- are not seen; Skybound does not prepare transactions, and max_prepared_transactions is 0
-- on the embedded server.
CREATE OR REPLACE FUNCTION change_release_horizon() RETURNS xid8
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    own bigint := pg_current_xact_id()::text::bigint;
    own_low bigint := own % 4294967296;
    newest bigint;
BEGIN
    PERFORM pg_stat_clear_snapshot();
    -- backend_xid is 32 bits; running xids lie within 2^31 of our own.
    SELECT max(own + CASE
                   WHEN x - own_low > 2147483648 THEN x - own_low - 4294967296
                   WHEN x - own_low < -2147483648 THEN x - own_low + 4294967296
                   ELSE x - own_low END)
      INTO newest
      FROM (SELECT backend_xid::text::bigint AS x
              FROM pg_stat_get_activity(NULL)
             WHERE backend_xid IS NOT NULL) AS running;
    RETURN (greatest(newest, own) + 1)::text::xid8;
END
$$;
