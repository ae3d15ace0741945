-- Online check-in: each carrier's check-in window, travel documents (encrypted by the
-- application, like payment cards), one check-in per passenger and flight with its
-- sequence number, and the change events that carry boarding passes to devices.

-- The window: it opens check_in_opens_hours before scheduled departure and closes
-- check_in_closes_minutes before it (the domestic figure when origin and destination
-- are in one country). Both are instants: 24 hours is 24 hours across a DST change.
ALTER TABLE airlines
    ADD COLUMN check_in_opens_hours integer NOT NULL DEFAULT 24
        CHECK (check_in_opens_hours BETWEEN 1 AND 336),
    ADD COLUMN check_in_closes_minutes integer NOT NULL DEFAULT 60
        CHECK (check_in_closes_minutes BETWEEN 0 AND 1440),
    ADD COLUMN check_in_closes_domestic_minutes integer NOT NULL DEFAULT 45
        CHECK (check_in_closes_domestic_minutes BETWEEN 0 AND 1440);

-- A passenger's travel document (the APIS data of an international flight). Type and
-- expiry stay in clear, to tell whether the document still covers a trip; number,
-- nationality, date of birth and gender are AES-256-GCM sealed, bound to the passenger.
CREATE TABLE travel_documents (
    passenger_id   uuid PRIMARY KEY REFERENCES passengers ON DELETE CASCADE,
    booking_id     uuid NOT NULL REFERENCES bookings ON DELETE CASCADE,
    document_type  text NOT NULL CHECK (document_type IN ('passport', 'national_id')),
    expires_on     date NOT NULL,
    key_version    text NOT NULL,
    nonce          bytea NOT NULL,
    ciphertext     bytea NOT NULL,
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX travel_documents_booking_idx ON travel_documents (booking_id);

-- The last check-in sequence number handed out per flight. The upsert that takes
-- the next one locks the flight's row, so concurrent check-ins queue for a number
-- and never share one; the unique key below holds whatever the writer.
CREATE TABLE check_in_sequences (
    flight_id      bigint PRIMARY KEY REFERENCES flights ON DELETE CASCADE,
    last_sequence  integer NOT NULL CHECK (last_sequence BETWEEN 1 AND 9999)
);

-- One row per passenger and flight. An undone check-in keeps its row (status
-- 'undone'), so a device hears that its boarding pass is gone and versions only grow;
-- checking in again takes a new sequence number, as a departure control system does.
CREATE TABLE check_ins (
    passenger_id    uuid NOT NULL REFERENCES passengers ON DELETE CASCADE,
    flight_id       bigint NOT NULL REFERENCES flights,
    booking_id      uuid NOT NULL REFERENCES bookings ON DELETE CASCADE,
    segment_no      integer NOT NULL,
    status          text NOT NULL CHECK (status IN ('checked_in', 'undone')),
    sequence_no     integer NOT NULL CHECK (sequence_no BETWEEN 1 AND 9999),
    seat            text CHECK (seat ~ '^[0-9]{1,3}[A-K]$'),
    -- The seat was given by check-in (none was chosen): undoing check-in frees it.
    seat_assigned   boolean NOT NULL DEFAULT false,
    selectee        boolean NOT NULL DEFAULT false,
    checked_in_at   timestamptz NOT NULL DEFAULT now(),
    checked_in_by   uuid,
    undone_at       timestamptz,
    version         integer NOT NULL DEFAULT 1,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (passenger_id, flight_id),
    UNIQUE (flight_id, sequence_no),
    CHECK ((status = 'undone') = (undone_at IS NOT NULL))
);
CREATE INDEX check_ins_booking_idx ON check_ins (booking_id);

CREATE TRIGGER check_ins_bump_version
    BEFORE UPDATE ON check_ins
    FOR EACH ROW EXECUTE FUNCTION bump_row_version();

-- A boarding pass issued or taken back, whoever wrote it, on the owner's private
-- topic: /v1/streams/me shows it live and a sync pull sends the pass (or its
-- tombstone). The payload names the pass, not the traveller's data.
CREATE FUNCTION capture_check_in_change() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    owner uuid;
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.status = OLD.status AND NEW.sequence_no = OLD.sequence_no
       AND NEW.seat IS NOT DISTINCT FROM OLD.seat THEN
        RETURN NULL;
    END IF;
    SELECT user_id INTO owner FROM bookings WHERE id = NEW.booking_id;
    IF owner IS NULL THEN
        RETURN NULL;
    END IF;
    PERFORM record_change(
        CASE WHEN NEW.status = 'checked_in' THEN 'boarding_pass.issued'
             ELSE 'boarding_pass.undone' END,
        'boarding_pass', NEW.passenger_id::text || ':' || NEW.flight_id::text, NEW.version,
        ARRAY['user:' || owner],
        jsonb_build_object('boarding_pass', jsonb_build_object(
            'booking_id', NEW.booking_id, 'passenger_id', NEW.passenger_id,
            'flight_id', NEW.flight_id, 'segment_no', NEW.segment_no,
            'status', NEW.status, 'version', NEW.version)));
    RETURN NULL;
END
$$;

CREATE TRIGGER check_ins_capture
    AFTER INSERT OR UPDATE ON check_ins
    FOR EACH ROW EXECUTE FUNCTION capture_check_in_change();

-- A passenger whose flight leaves the booking (a flight change) or whose booking is
-- cancelled is offloaded, whoever made the change: the check-in is undone, so the
-- flight's checked-in count stays true and devices hear boarding_pass.undone.
CREATE FUNCTION offload_removed_segments() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE check_ins c SET status = 'undone', undone_at = now()
      FROM removed_segments r
     WHERE c.booking_id = r.booking_id AND c.flight_id = r.flight_id
       AND c.status = 'checked_in';
    RETURN NULL;
END
$$;

CREATE TRIGGER booking_segments_offload
    AFTER DELETE ON booking_segments REFERENCING OLD TABLE AS removed_segments
    FOR EACH STATEMENT EXECUTE FUNCTION offload_removed_segments();

CREATE FUNCTION offload_cancelled_booking() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE check_ins SET status = 'undone', undone_at = now()
     WHERE booking_id = NEW.id AND status = 'checked_in';
    RETURN NULL;
END
$$;

CREATE TRIGGER bookings_offload
    AFTER UPDATE OF status ON bookings
    FOR EACH ROW WHEN (NEW.status = 'cancelled' AND OLD.status <> 'cancelled')
    EXECUTE FUNCTION offload_cancelled_booking();
