-- Broadcast from Database, for Skybound running on a Supabase project's PostgreSQL.
--
-- Where Supabase Realtime's realtime.send() exists, every change event is also sent to
-- Supabase Realtime as a private broadcast on each of its topics (board:JFK:departures,
-- flight:42, seats:42, user:<uuid>), so a frontend can subscribe to Supabase Realtime
-- directly and see the events Skybound's own streams carry, in the same order. Policies
-- on realtime.messages mirror Skybound's topic rules: boards, flights and seat maps for
-- anon and authenticated clients; user:<uuid> only for that user (auth.uid()).
-- Anywhere else (the embedded PostgreSQL, a plain server) this migration does nothing.
DO $migration$
BEGIN
    IF to_regprocedure('realtime.send(jsonb,text,text,boolean)') IS NULL THEN
        RETURN;
    END IF;

    CREATE FUNCTION broadcast_change_to_supabase() RETURNS trigger
    LANGUAGE plpgsql AS $fn$
    DECLARE
        topic text;
        message jsonb := jsonb_build_object(
            'id', NEW.id, 'type', NEW.event_type, 'entity', NEW.entity,
            'entity_id', NEW.entity_id, 'version', NEW.entity_version,
            'data', NEW.payload, 'at', NEW.created_at);
    BEGIN
        FOREACH topic IN ARRAY NEW.topics LOOP
            IF topic ~ '^(board:[A-Z]{3}:(departures|arrivals)|flight:[0-9]+|seats:[0-9]+|user:[0-9a-f-]{36})$' THEN
                -- The event's own id, so realtime.send keeps it as the message's id field.
                PERFORM realtime.send(message, NEW.event_type, topic, true);
            END IF;
        END LOOP;
        RETURN NULL;
    END
    $fn$;

    CREATE TRIGGER change_events_to_supabase_realtime AFTER INSERT ON change_events
        FOR EACH ROW EXECUTE FUNCTION broadcast_change_to_supabase();

    -- Read side of private channels: who may join a topic and receive its broadcasts.
    CREATE POLICY skybound_public_topics ON realtime.messages
        FOR SELECT TO anon, authenticated
        USING (realtime.messages.extension = 'broadcast'
               AND realtime.topic() ~ '^(board:[A-Z]{3}:(departures|arrivals)|flight:[0-9]+|seats:[0-9]+)$');
    CREATE POLICY skybound_own_user_topic ON realtime.messages
        FOR SELECT TO authenticated
        USING (realtime.messages.extension = 'broadcast'
               AND realtime.topic() = 'user:' || (SELECT auth.uid())::text);
END
$migration$;
