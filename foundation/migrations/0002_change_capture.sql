-- Change capture: triggers turn committed changes of flights and bookings into
-- change_events rows and poke listeners with NOTIFY.
--
-- Positions. An event's position is its id. Ids come from a sequence, so they
-- are handed out before commit: id 41 can commit after id 42. Each event
-- therefore records a release horizon: an xid bound, taken after its id was
-- allocated, above every running transaction that could hold a smaller id. A reader
-- releases events in id order up to the largest visible id whose horizon lies
-- below its snapshot's xmin; every smaller id is then committed (and visible)
-- or never will be. See docs/realtime.md for the argument and the trade-offs.

ALTER TABLE change_events ADD COLUMN release_horizon xid8;
UPDATE change_events SET release_horizon = xact_id;
ALTER TABLE change_events ALTER COLUMN release_horizon SET NOT NULL;

-- One row: the log's epoch (a restored or recreated database gets a new one,
-- so clients holding old positions re-snapshot) and how far retention purged.
CREATE TABLE change_log_state (
    singleton       boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    epoch           text NOT NULL DEFAULT substr(md5(gen_random_uuid()::text), 1, 8),
    purged_through  bigint NOT NULL DEFAULT 0
);
INSERT INTO change_log_state DEFAULT VALUES;

-- The release horizon: an xid above every transaction that could hold a
-- smaller event id. Such a transaction took its id before ours, so it already
-- had an xid then, and if it is still running it still holds the lock on that
-- xid. pg_locks is read fresh on every call, whatever the isolation level. (A
-- snapshot will not do: its xmax is the newest *completed* xid plus one, blind
-- to running transactions newer than that, and under REPEATABLE READ it is the
-- transaction's first snapshot besides.) Costs a scan of the lock table, tens
-- of microseconds per event.
CREATE FUNCTION change_release_horizon() RETURNS xid8
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    own bigint := pg_current_xact_id()::text::bigint;
    own_low bigint := own % 4294967296;
    newest bigint;
BEGIN
    -- pg_locks shows 32-bit xids; running xids lie within 2^31 of our own.
    SELECT max(own + CASE
                   WHEN x - own_low > 2147483648 THEN x - own_low - 4294967296
                   WHEN x - own_low < -2147483648 THEN x - own_low + 4294967296
                   ELSE x - own_low END)
      INTO newest
      FROM (SELECT transactionid::text::bigint AS x
              FROM pg_locks
             WHERE locktype = 'transactionid' AND mode = 'ExclusiveLock' AND granted) AS running;
    RETURN (greatest(newest, own) + 1)::text::xid8;
END
$$;

-- Append one event and poke listeners. The NOTIFY payload is the transaction
-- id: identical payloads within a transaction collapse into one notification,
-- so a bulk update wakes each listener once, not once per row.
CREATE FUNCTION record_change(
    p_event_type text, p_entity text, p_entity_id text, p_entity_version integer,
    p_topics text[], p_payload jsonb
) RETURNS bigint
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    event_id bigint := nextval(pg_get_serial_sequence('change_events', 'id'));
BEGIN
    INSERT INTO change_events (id, event_type, entity, entity_id, entity_version, topics,
                               payload, release_horizon)
    OVERRIDING SYSTEM VALUE
    VALUES (event_id, p_event_type, p_entity, p_entity_id, p_entity_version, p_topics,
            p_payload, change_release_horizon());
    PERFORM pg_notify('skybound_changes', pg_current_xact_id()::text);
    RETURN event_id;
END
$$;

-- Flights ---------------------------------------------------------------

-- The fields whose change is worth telling a board or a traveller about.
CREATE FUNCTION flight_changes(old_row jsonb, new_row jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(jsonb_object_agg(key, jsonb_build_array(old_row -> key, new_row -> key)), '{}')
      FROM unnest(ARRAY[
               'status', 'departure_terminal', 'departure_gate', 'arrival_terminal',
               'arrival_gate', 'baggage_belt', 'estimated_departure', 'estimated_arrival',
               'actual_departure', 'actual_arrival', 'scheduled_departure', 'scheduled_arrival',
               'aircraft_type', 'origin', 'destination']) AS key
     WHERE (old_row -> key) IS DISTINCT FROM (new_row -> key)
$$;

-- The flight as readers show it: its row plus the names and time zones of the
-- places it joins, so an event can be rendered without another query.
CREATE FUNCTION flight_state(f flights) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT to_jsonb(f) || jsonb_build_object(
               'carrier_name', al.name,
               'origin_name', o.name, 'origin_city', o.city, 'origin_country', o.country,
               'origin_tz', o.time_zone,
               'destination_name', d.name, 'destination_city', d.city,
               'destination_country', d.country, 'destination_tz', d.time_zone,
               'aircraft_name', ac.name)
      FROM airlines al, airports o, airports d
      LEFT JOIN aircraft_types ac ON ac.code = f.aircraft_type
     WHERE al.code = f.carrier AND o.iata = f.origin AND d.iata = f.destination
$$;

CREATE FUNCTION capture_flight_change() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    changes jsonb := flight_changes(to_jsonb(OLD), to_jsonb(NEW));
    event_type text;
    topics text[];
BEGIN
    IF changes = '{}' THEN
        RETURN NULL;
    END IF;
    event_type := CASE
        WHEN changes ? 'status' AND NEW.status = 'cancelled' THEN 'flight.cancelled'
        WHEN changes ? 'status' THEN 'flight.status_changed'
        WHEN changes ?| ARRAY['departure_gate', 'arrival_gate'] THEN 'flight.gate_changed'
        WHEN changes ?| ARRAY['estimated_departure', 'estimated_arrival'] THEN 'flight.delayed'
        ELSE 'flight.updated'
    END;
    topics := ARRAY[
        'flight:' || NEW.id,
        'board:' || NEW.origin || ':departures',
        'board:' || NEW.destination || ':arrivals'];
    -- A diversion or re-routing also leaves the boards the flight used to be on.
    IF OLD.origin <> NEW.origin THEN
        topics := topics || ('board:' || OLD.origin || ':departures');
    END IF;
    IF OLD.destination <> NEW.destination THEN
        topics := topics || ('board:' || OLD.destination || ':arrivals');
    END IF;
    -- Travellers booked on the flight hear about it on their private topic.
    topics := topics || ARRAY(
        SELECT DISTINCT 'user:' || b.user_id
          FROM booking_segments s
          JOIN bookings b ON b.id = s.booking_id
         WHERE s.flight_id = NEW.id AND b.status = 'confirmed' AND b.user_id IS NOT NULL);
    PERFORM record_change(
        event_type, 'flight', NEW.id::text, NEW.version, topics,
        jsonb_build_object('flight', flight_state(NEW), 'changes', changes));
    RETURN NULL;
END
$$;

-- Inserts are not captured: a new leg is schedule data (bulk-loaded by COPY),
-- not news; it first matters to a board when something about it changes.
CREATE TRIGGER flights_capture
    AFTER UPDATE ON flights
    FOR EACH ROW EXECUTE FUNCTION capture_flight_change();

-- Bookings --------------------------------------------------------------

CREATE FUNCTION capture_booking_change() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    event_type text;
    changes jsonb := '{}';
BEGIN
    IF TG_OP = 'INSERT' THEN
        event_type := 'booking.created';
    ELSE
        SELECT coalesce(jsonb_object_agg(n.key, jsonb_build_array(o.value, n.value)), '{}')
          INTO changes
          FROM jsonb_each(to_jsonb(NEW)) n
          JOIN jsonb_each(to_jsonb(OLD)) o USING (key)
         WHERE n.value IS DISTINCT FROM o.value
           AND n.key NOT IN ('version', 'updated_at');
        IF changes = '{}' THEN
            RETURN NULL;
        END IF;
        event_type := CASE
            WHEN changes ? 'status' AND NEW.status = 'cancelled' THEN 'booking.cancelled'
            ELSE 'booking.updated'
        END;
    END IF;
    IF NEW.user_id IS NULL THEN
        RETURN NULL;  -- anonymised bookings have no one to tell
    END IF;
    PERFORM record_change(
        event_type, 'booking', NEW.id::text, NEW.version,
        ARRAY['user:' || NEW.user_id],
        jsonb_build_object('booking', to_jsonb(NEW), 'changes', changes));
    RETURN NULL;
END
$$;

CREATE TRIGGER bookings_capture
    AFTER INSERT OR UPDATE ON bookings
    FOR EACH ROW EXECUTE FUNCTION capture_booking_change();

-- Resume and catch-up read new events by id; the horizon test is a filter on them.
-- Topic lookups for replay use the GIN index.
CREATE INDEX change_events_topics_idx ON change_events USING gin (topics);
