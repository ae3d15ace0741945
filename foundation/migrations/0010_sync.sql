-- Offline sync (docs/sync.md): saved travellers, trip notes, the notification
-- inbox, sync clients with the outcomes of their mutations, and per-field
-- clocks on preferences.
--
-- Every change of what a device syncs is recorded in change_events under the
-- owner's user:{id} topic, so a sync pull and the realtime streams read one
-- log with one notion of a commit-safe position. Payloads carry ids and
-- versions, not personal data: a pull reads the current rows.

-- The key that signs sync cursors (bound to a user, so they cannot be swapped).
INSERT INTO app_secrets (name, secret)
VALUES ('sync_cursor', replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''));

-- Hybrid logical clocks ----------------------------------------------------

-- A clock reads '<wall ms, 13 digits>:<counter, 4 digits>:<node>' and orders by
-- (wall, counter, node). Devices stamp their edits with their own; a writer
-- outside sync (the REST API, psql) gets a server clock later than every clock
-- already on the row, so it wins over what it overwrote and a device's later
-- edit still wins over it.
CREATE FUNCTION sync_clock_after(p_clocks jsonb) RETURNS text
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    wall bigint := floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint;
    seen_wall bigint;
    seen_counter integer;
BEGIN
    SELECT split_part(c, ':', 1)::bigint, split_part(c, ':', 2)::integer
      INTO seen_wall, seen_counter
      FROM jsonb_each_text(p_clocks) AS x(field, c)
     ORDER BY 1 DESC, 2 DESC
     LIMIT 1;
    IF seen_wall IS NOT NULL AND seen_wall >= wall THEN
        RETURN lpad(seen_wall::text, 13, '0') || ':' || lpad((seen_counter + 1)::text, 4, '0')
               || ':server';
    END IF;
    RETURN lpad(wall::text, 13, '0') || ':0000:server';
END
$$;

-- BEFORE trigger; arguments: the fields that carry clocks. A field whose value
-- changes while its clock does not was written by someone who does not speak
-- sync: stamp it with a server clock. An insert without clocks (the REST PUT)
-- sets every field, so every field is stamped.
CREATE FUNCTION stamp_field_clocks() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    field text;
    stamp text;
    new_row jsonb := to_jsonb(NEW);
    old_row jsonb := CASE WHEN TG_OP = 'UPDATE' THEN to_jsonb(OLD) ELSE '{}' END;
BEGIN
    FOREACH field IN ARRAY TG_ARGV LOOP
        IF (TG_OP = 'INSERT' AND NEW.field_clocks = '{}')
           OR (TG_OP = 'UPDATE'
               AND (new_row -> field) IS DISTINCT FROM (old_row -> field)
               AND (NEW.field_clocks -> field) IS NOT DISTINCT FROM (OLD.field_clocks -> field))
        THEN
            stamp := coalesce(stamp, sync_clock_after(coalesce(old_row -> 'field_clocks', '{}')));
            NEW.field_clocks := NEW.field_clocks || jsonb_build_object(field, stamp);
        END IF;
    END LOOP;
    RETURN NEW;
END
$$;

-- AFTER trigger; argument: the entity name. One event per changed row, on the
-- owner's topic: '<entity>.created', '.updated' or '.deleted' (soft delete).
CREATE FUNCTION capture_sync_change() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    entity text := TG_ARGV[0];
    new_row jsonb := to_jsonb(NEW);
    event_type text;
    state jsonb;
BEGIN
    event_type := entity || CASE
        WHEN TG_OP = 'INSERT' THEN '.created'
        WHEN new_row ->> 'deleted_at' IS NOT NULL THEN '.deleted'
        ELSE '.updated'
    END;
    state := jsonb_build_object('id', NEW.id, 'version', NEW.version);
    IF entity = 'notification' THEN
        -- An inbox entry is not sensitive and renders a live toast without a query.
        state := new_row - 'user_id' - 'event_id';
    END IF;
    PERFORM record_change(event_type, entity, NEW.id::text, NEW.version,
                          ARRAY['user:' || NEW.user_id], jsonb_build_object(entity, state));
    RETURN NULL;
END
$$;

-- Preferences -----------------------------------------------------------------

ALTER TABLE user_preferences ADD COLUMN field_clocks jsonb NOT NULL DEFAULT '{}';

CREATE TRIGGER user_preferences_stamp_clocks
    BEFORE INSERT OR UPDATE ON user_preferences
    FOR EACH ROW EXECUTE FUNCTION stamp_field_clocks(
        'seat', 'meal', 'language', 'notification_channels', 'marketing_consent');

CREATE FUNCTION capture_preferences_change() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    owner uuid := CASE WHEN TG_OP = 'DELETE' THEN OLD.user_id ELSE NEW.user_id END;
    version integer := CASE WHEN TG_OP = 'DELETE' THEN 0 ELSE NEW.version END;
BEGIN
    PERFORM record_change('preferences.updated', 'preferences', owner::text, version,
                          ARRAY['user:' || owner],
                          jsonb_build_object('preferences', jsonb_build_object('version', version)));
    RETURN NULL;
END
$$;

CREATE TRIGGER user_preferences_capture
    AFTER INSERT OR DELETE ON user_preferences
    FOR EACH ROW EXECUTE FUNCTION capture_preferences_change();
CREATE TRIGGER user_preferences_capture_update
    AFTER UPDATE ON user_preferences
    FOR EACH ROW WHEN (OLD IS DISTINCT FROM NEW) EXECUTE FUNCTION capture_preferences_change();

-- Saved travellers --------------------------------------------------------------

-- Ids are chosen by the client (a device creates travellers offline); they are
-- unique per user, so one user's ids say nothing about another's.
CREATE TABLE travelers (
    user_id          uuid NOT NULL REFERENCES profiles ON DELETE CASCADE,
    id               uuid NOT NULL,
    given_name       text,
    family_name      text,
    date_of_birth    date,
    nationality      char(2) CHECK (nationality ~ '^[A-Z]{2}$'),
    passport_number  text CHECK (passport_number ~ '^[A-Z0-9]{5,20}$'),
    passport_expiry  date,
    loyalty_numbers  jsonb NOT NULL DEFAULT '{}',
    -- The record version at which each field last changed: an edit based on an
    -- older version conflicts only if it touches a field changed since.
    field_versions   jsonb NOT NULL DEFAULT '{}',
    version          integer NOT NULL DEFAULT 1,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    -- A deleted traveller keeps its row as a tombstone, with the personal data gone.
    deleted_at       timestamptz,
    PRIMARY KEY (user_id, id),
    CHECK (deleted_at IS NOT NULL OR (given_name IS NOT NULL AND family_name IS NOT NULL))
);

-- Whoever writes (sync, psql), the version and the per-field versions move together.
CREATE FUNCTION bump_traveler_versions() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    field text;
    new_row jsonb;
    old_row jsonb := to_jsonb(OLD);
BEGIN
    IF NEW IS NOT DISTINCT FROM OLD THEN
        RETURN NEW;
    END IF;
    NEW.version := OLD.version + 1;
    NEW.updated_at := now();
    new_row := to_jsonb(NEW);
    FOREACH field IN ARRAY ARRAY['given_name', 'family_name', 'date_of_birth', 'nationality',
                                 'passport_number', 'passport_expiry', 'loyalty_numbers',
                                 'deleted_at'] LOOP
        IF (new_row -> field) IS DISTINCT FROM (old_row -> field) THEN
            NEW.field_versions := NEW.field_versions || jsonb_build_object(field, NEW.version);
        END IF;
    END LOOP;
    RETURN NEW;
END
$$;

CREATE TRIGGER travelers_bump_versions
    BEFORE UPDATE ON travelers
    FOR EACH ROW EXECUTE FUNCTION bump_traveler_versions();
CREATE TRIGGER travelers_capture
    AFTER INSERT OR UPDATE ON travelers
    FOR EACH ROW EXECUTE FUNCTION capture_sync_change('traveler');

-- Trip notes --------------------------------------------------------------------

CREATE TABLE trip_notes (
    user_id       uuid NOT NULL REFERENCES profiles ON DELETE CASCADE,
    id            uuid NOT NULL,
    booking_id    uuid NOT NULL REFERENCES bookings ON DELETE CASCADE,
    title         text CHECK (length(title) <= 200),
    body          text CHECK (length(body) <= 10000),
    field_clocks  jsonb NOT NULL DEFAULT '{}',
    version       integer NOT NULL DEFAULT 1,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    deleted_at    timestamptz,
    PRIMARY KEY (user_id, id)
);
CREATE INDEX trip_notes_booking_idx ON trip_notes (booking_id);

CREATE TRIGGER trip_notes_bump_version
    BEFORE UPDATE ON trip_notes
    FOR EACH ROW EXECUTE FUNCTION bump_row_version();
CREATE TRIGGER trip_notes_stamp_clocks
    BEFORE INSERT OR UPDATE ON trip_notes
    FOR EACH ROW EXECUTE FUNCTION stamp_field_clocks('title', 'body');
CREATE TRIGGER trip_notes_capture
    AFTER INSERT OR UPDATE ON trip_notes
    FOR EACH ROW EXECUTE FUNCTION capture_sync_change('trip_note');

-- Notifications -----------------------------------------------------------------

CREATE TABLE notifications (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES profiles ON DELETE CASCADE,
    kind        text NOT NULL,  -- the type of the change event it reports
    title       text NOT NULL,
    body        text NOT NULL,
    booking_id  uuid,
    flight_id   bigint,
    event_id    bigint,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    read_at     timestamptz,
    version     integer NOT NULL DEFAULT 1
);
CREATE INDEX notifications_user_idx ON notifications (user_id, id);

CREATE TRIGGER notifications_bump_version
    BEFORE UPDATE ON notifications
    FOR EACH ROW EXECUTE FUNCTION bump_row_version();
CREATE TRIGGER notifications_capture
    AFTER INSERT OR UPDATE ON notifications
    FOR EACH ROW EXECUTE FUNCTION capture_sync_change('notification');

-- A traveller hears about what happens to their flights and bookings, whoever
-- made it happen: the inbox is filled from the change log itself, which
-- already names every affected user in its topics.
CREATE FUNCTION notify_travellers() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    flight jsonb := NEW.payload -> 'flight';
    changes jsonb := coalesce(NEW.payload -> 'changes', '{}');
    designator text;
    route text;
    headline text;
    message text;
    about_booking uuid;
    about_flight bigint;
    locator text;
    departs text;
BEGIN
    IF NEW.entity = 'flight' THEN
        about_flight := (flight ->> 'id')::bigint;
        designator := trim(flight ->> 'carrier') || (flight ->> 'flight_number');
        route := (flight ->> 'origin') || ' to ' || (flight ->> 'destination');
        departs := to_char(coalesce(flight ->> 'estimated_departure',
                                    flight ->> 'scheduled_departure')::timestamptz
                           AT TIME ZONE (flight ->> 'origin_tz'), 'HH24:MI');
        CASE NEW.event_type
        WHEN 'flight.cancelled' THEN
            headline := designator || ' is cancelled';
            message := 'Your flight ' || designator || ' from ' || route
                       || ' is cancelled. You can change or cancel your booking free of charge.';
        WHEN 'flight.gate_changed' THEN
            headline := 'Gate change for ' || designator;
            IF changes ? 'departure_gate' THEN
                message := designator || ' from ' || route || ' now departs from gate '
                           || coalesce(flight ->> 'departure_gate', 'to be announced') || '.';
            ELSE
                message := designator || ' from ' || route || ' now arrives at gate '
                           || coalesce(flight ->> 'arrival_gate', 'to be announced') || '.';
            END IF;
        WHEN 'flight.delayed' THEN
            headline := designator || ' is delayed';
            message := designator || ' from ' || route || ' now departs at ' || departs
                       || ' local time.';
        ELSE
            headline := designator || ' is ' || replace(flight ->> 'status', '_', ' ');
            message := designator || ' from ' || route || ' is now '
                       || replace(flight ->> 'status', '_', ' ') || '.';
        END CASE;
    ELSE
        about_booking := NEW.entity_id::uuid;
        SELECT record_locator INTO locator FROM bookings WHERE id = about_booking;
        IF NEW.event_type = 'booking.cancelled' THEN
            headline := 'Booking ' || locator || ' cancelled';
            message := 'Your booking ' || locator || ' is cancelled.';
        ELSE
            headline := 'Booking ' || locator || ' changed';
            message := 'Your booking ' || locator || ' was changed ('
                       || coalesce(NEW.payload ->> 'change', 'details') || ').';
        END IF;
    END IF;
    INSERT INTO notifications (user_id, kind, title, body, booking_id, flight_id, event_id)
    SELECT substr(topic, 6)::uuid, NEW.event_type, headline, message, about_booking,
           about_flight, NEW.id
      FROM unnest(NEW.topics) AS topic
     WHERE topic LIKE 'user:%';
    RETURN NULL;
END
$$;

CREATE TRIGGER change_events_notify_travellers
    AFTER INSERT ON change_events
    FOR EACH ROW
    WHEN (NEW.event_type IN ('flight.cancelled', 'flight.status_changed', 'flight.gate_changed',
                             'flight.delayed', 'booking.cancelled', 'booking.changed'))
    EXECUTE FUNCTION notify_travellers();

-- Trips: what the booking events do not show -----------------------------------

-- A flight change deletes the booking's old segments: the owner's devices must
-- hear which flights left the trip, or they would keep showing them.
CREATE FUNCTION capture_segment_removal() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    touched record;
BEGIN
    FOR touched IN
        SELECT r.booking_id, b.user_id, b.version, jsonb_agg(DISTINCT r.flight_id) AS flights
          FROM removed_segments r
          JOIN bookings b ON b.id = r.booking_id
         WHERE b.user_id IS NOT NULL
         GROUP BY r.booking_id, b.user_id, b.version
    LOOP
        PERFORM record_change(
            'booking.segments_removed', 'booking', touched.booking_id::text, touched.version,
            ARRAY['user:' || touched.user_id],
            jsonb_build_object('booking', jsonb_build_object('id', touched.booking_id),
                               'removed_flight_ids', touched.flights));
    END LOOP;
    RETURN NULL;
END
$$;

CREATE TRIGGER booking_segments_capture_delete
    AFTER DELETE ON booking_segments REFERENCING OLD TABLE AS removed_segments
    FOR EACH STATEMENT EXECUTE FUNCTION capture_segment_removal();

-- A ticket voided or refunded by any writer takes its boarding pass off devices.
CREATE FUNCTION capture_ticket_status() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    touched record;
BEGIN
    FOR touched IN
        SELECT n.booking_id, b.user_id, b.version
          FROM new_tickets n
          JOIN old_tickets o USING (ticket_number)
          JOIN bookings b ON b.id = n.booking_id
         WHERE n.status IS DISTINCT FROM o.status AND b.user_id IS NOT NULL
         GROUP BY n.booking_id, b.user_id, b.version
    LOOP
        PERFORM record_change(
            'booking.tickets_changed', 'booking', touched.booking_id::text, touched.version,
            ARRAY['user:' || touched.user_id],
            jsonb_build_object('booking', jsonb_build_object('id', touched.booking_id)));
    END LOOP;
    RETURN NULL;
END
$$;

CREATE TRIGGER tickets_capture_status
    AFTER UPDATE ON tickets REFERENCING OLD TABLE AS old_tickets NEW TABLE AS new_tickets
    FOR EACH STATEMENT EXECUTE FUNCTION capture_ticket_status();

-- Sync clients --------------------------------------------------------------------

-- A device (client id, chosen by the device, unique per install) and the last
-- of its mutations processed. Mutation ids only increase; a push repeating an
-- id at or below this one is a retry, answered from sync_mutations.
CREATE TABLE sync_clients (
    user_id           uuid NOT NULL REFERENCES profiles ON DELETE CASCADE,
    client_id         text NOT NULL CHECK (client_id ~ '^[A-Za-z0-9_-]{1,64}$'),
    last_mutation_id  bigint NOT NULL DEFAULT 0 CHECK (last_mutation_id >= 0),
    created_at        timestamptz NOT NULL DEFAULT now(),
    last_push_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, client_id)
);

-- The outcome of each processed mutation (the latest 1,000 per client), so a
-- retried push reports what happened the first time. 'pending': a booking
-- command whose quote is being confirmed; a retry confirms the same quote.
-- event_id: the newest change event the mutation wrote, so a pull reports a
-- mutation as processed only once its effect is within the pulled range.
CREATE TABLE sync_mutations (
    user_id       uuid NOT NULL,
    client_id     text NOT NULL,
    mutation_id   bigint NOT NULL,
    name          text NOT NULL,
    status        text NOT NULL CHECK (status IN ('pending', 'applied', 'conflict', 'rejected')),
    reason        text,
    quote_id      uuid,
    event_id      bigint,
    processed_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, client_id, mutation_id),
    FOREIGN KEY (user_id, client_id) REFERENCES sync_clients ON DELETE CASCADE
);
