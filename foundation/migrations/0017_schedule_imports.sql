-- Schedule imports uploaded over HTTP: a queue of jobs that any worker of the fleet
-- may run (one at a time), with their progress and outcome for whoever polls.
CREATE TABLE schedule_imports (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    status          text NOT NULL DEFAULT 'queued'
                    CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
    -- parsing, staging, checking, applying: where a running import is.
    stage           text,
    legs_done       integer NOT NULL DEFAULT 0 CHECK (legs_done >= 0),
    dry_run         boolean NOT NULL DEFAULT false,
    cancel_missing  boolean NOT NULL DEFAULT false,
    file_name       text,
    file_bytes      integer NOT NULL CHECK (file_bytes >= 0),
    -- The uploaded file, kept until the job has finished.
    file            bytea,
    requested_by    uuid NOT NULL,
    report          jsonb,
    errors          jsonb,
    created_at      timestamptz NOT NULL DEFAULT now(),
    started_at      timestamptz,
    finished_at     timestamptz,
    CHECK ((status IN ('succeeded', 'failed')) = (finished_at IS NOT NULL))
);
-- Runners take the oldest unfinished job first.
CREATE INDEX schedule_imports_unfinished_idx ON schedule_imports (created_at)
    WHERE status IN ('queued', 'running');

-- A new schedule that moves a booked flight reaches its travellers' inboxes too:
-- change capture records it as 'flight.updated' with the changed scheduled times,
-- which the general notification trigger (0010) leaves to boards.
CREATE FUNCTION notify_schedule_change() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    flight jsonb := NEW.payload -> 'flight';
    designator text := trim(flight ->> 'carrier') || (flight ->> 'flight_number');
    departs text := to_char((flight ->> 'scheduled_departure')::timestamptz
                            AT TIME ZONE (flight ->> 'origin_tz'), 'YYYY-MM-DD HH24:MI');
    arrives text := to_char((flight ->> 'scheduled_arrival')::timestamptz
                            AT TIME ZONE (flight ->> 'destination_tz'), 'YYYY-MM-DD HH24:MI');
BEGIN
    INSERT INTO notifications (user_id, kind, title, body, flight_id, event_id)
    SELECT substr(topic, 6)::uuid, NEW.event_type, 'New schedule for ' || designator,
           designator || ' from ' || (flight ->> 'origin') || ' to ' || (flight ->> 'destination')
           || ' now departs ' || departs || ' and arrives ' || arrives || ' local time.',
           (flight ->> 'id')::bigint, NEW.id
      FROM unnest(NEW.topics) AS topic
     WHERE topic LIKE 'user:%';
    RETURN NULL;
END
$$;

CREATE TRIGGER change_events_notify_schedule_change
    AFTER INSERT ON change_events
    FOR EACH ROW
    WHEN (NEW.event_type = 'flight.updated'
          AND (NEW.payload -> 'changes') ?| ARRAY['scheduled_departure', 'scheduled_arrival'])
    EXECUTE FUNCTION notify_schedule_change();

-- Archived bookings -------------------------------------------------------------

-- Bookings whose last flight landed long ago leave the hot tables (bookings,
-- passengers, segments, seats, tickets, payments) for this one: the whole booking as
-- it read when it was archived (``booking``: passengers with tickets, segments with
-- their flights and seats, payments, trip notes), plus the columns a history page
-- sorts and shows, so the past and cancelled views list archived bookings with live
-- ones without reading a document.
CREATE TABLE archived_bookings (
    id               uuid PRIMARY KEY,
    record_locator   char(6) NOT NULL,
    user_id          uuid,
    status           text NOT NULL,
    total_minor      bigint NOT NULL,
    currency         char(3) NOT NULL,
    created_at       timestamptz NOT NULL,
    cancelled_at     timestamptz,
    origin           char(3) NOT NULL,
    origin_tz        text NOT NULL,
    destination      char(3) NOT NULL,
    destination_tz   text NOT NULL,
    first_departure  timestamptz NOT NULL,
    last_arrival     timestamptz NOT NULL,
    passengers       integer NOT NULL,
    -- Stored ticket receipts stay in the file storage; erasure deletes them.
    document_keys    text[] NOT NULL DEFAULT '{}',
    booking          jsonb NOT NULL,
    archived_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX archived_bookings_user_idx ON archived_bookings (user_id, first_departure DESC);
