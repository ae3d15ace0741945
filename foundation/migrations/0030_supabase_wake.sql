-- Wake-ups for Skybound processes whose change listener is woken by Supabase Realtime
-- (SKYBOUND_WAKE_SOURCE=supabase-realtime, where only a transaction pooler is reachable
-- and LISTEN cannot work): a transaction that appends to the change log also sends one
-- private broadcast on skybound:changes. It only wakes: the listeners read the events
-- from the log, and Realtime delivers the message after the commit that makes them
-- readable. Service-role subscribers bypass row-level security, so no policy opens this
-- topic to anyone else.
-- Where realtime.send() does not exist, this migration does nothing.
DO $migration$
BEGIN
    IF to_regprocedure('realtime.send(jsonb,text,text,boolean)') IS NULL THEN
        RETURN;
    END IF;

    CREATE FUNCTION wake_supabase_listeners() RETURNS trigger
    LANGUAGE plpgsql AS $fn$
    BEGIN
        -- Once per transaction: capture appends one event per row, and a bulk update
        -- of thousands must not send thousands of wake-ups. The setting is local to the
        -- transaction (and undone with a rolled-back savepoint, like the message).
        IF current_setting('skybound.supabase_woken', true) = 'on' THEN
            RETURN NULL;
        END IF;
        PERFORM set_config('skybound.supabase_woken', 'on', true);
        PERFORM realtime.send(jsonb_build_object('id', NEW.id), 'changes',
                              'skybound:changes', true);
        RETURN NULL;
    END
    $fn$;

    CREATE TRIGGER change_events_wake_supabase AFTER INSERT ON change_events
        FOR EACH ROW EXECUTE FUNCTION wake_supabase_listeners();
END
$migration$;
