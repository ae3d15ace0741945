-- Notifications: the outbox grows from auth mail to every moment of a trip.
--
-- A message is now either written out (subject and body, as auth mail is) or a
-- template and its cause (a booking, a flight, a reminder), which the sender renders
-- when it sends: the transaction that causes a message only writes one small row.
-- Each caused message carries an idempotency key that names its recipient and its
-- cause, unique, so a retried transaction, a second worker or a second instance
-- writing the same cause writes nothing more.

ALTER TABLE mail_outbox ALTER COLUMN subject DROP NOT NULL;
ALTER TABLE mail_outbox
    ADD COLUMN idempotency_key   text,
    ADD COLUMN template          text,
    ADD COLUMN cause             jsonb,
    ADD COLUMN language          text NOT NULL DEFAULT 'en',
    -- Given up after too many failed attempts, or refused for good (5xx).
    ADD COLUMN dead_lettered_at  timestamptz,
    ADD CONSTRAINT mail_outbox_has_content CHECK (template IS NOT NULL OR subject IS NOT NULL);
-- NULL keys (auth mail, which has its own rate limit) are distinct from each other.
CREATE UNIQUE INDEX mail_outbox_idempotency_idx ON mail_outbox (idempotency_key);

-- Addresses a mail server refused for good (a 5xx answer): nothing more is sent to
-- them. A recipient who changes their address gets mail at the new one; an
-- address is unmarked by deleting its row (an operator who knows it works again).
CREATE TABLE mail_undeliverable (
    address    text PRIMARY KEY CHECK (address = lower(address)),
    reason     text NOT NULL,
    marked_at  timestamptz NOT NULL DEFAULT now()
);

-- Knobs the database's own writers need (the flight trigger below runs for psql
-- and the simulator too); each process writes its settings here when it starts.
CREATE TABLE mail_settings (
    singleton             boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    -- Flight updates of one kind within this long of the first are one email.
    flight_notice_window  interval NOT NULL DEFAULT '10 minutes',
    -- A later estimated departure is news from this much on.
    delay_threshold       interval NOT NULL DEFAULT '15 minutes'
);
INSERT INTO mail_settings DEFAULT VALUES;

-- Flight status mail --------------------------------------------------------------

-- The open coalescing window of each flight and kind of news: every update inside
-- it joins the one message per recipient that the window's first update queued,
-- and that message is due when the window ends (it is rendered then, with the
-- flight as it is by that time, so five delays send the latest time once).
CREATE TABLE flight_notice_windows (
    flight_id  bigint NOT NULL REFERENCES flights ON DELETE CASCADE,
    kind       text NOT NULL CHECK (kind IN ('delay', 'gate', 'cancelled', 'diverted')),
    opened_at  timestamptz NOT NULL,
    PRIMARY KEY (flight_id, kind)
);

-- Who hears about a flight: per confirmed booking on it whose owner's channels
-- include email (no preferences yet: the default, email), each passenger's own
-- address, or the booking's contact address for a passenger without one.
CREATE FUNCTION flight_mail_recipients(p_flight_id bigint)
RETURNS TABLE (booking_id uuid, address text, language text)
LANGUAGE sql STABLE AS $$
    SELECT DISTINCT b.id, lower(coalesce(p.email, b.contact_email)),
           coalesce(up.language, 'en')
      FROM booking_segments s
      JOIN bookings b ON b.id = s.booking_id AND b.status = 'confirmed'
      JOIN passengers p ON p.booking_id = b.id
      LEFT JOIN user_preferences up ON up.user_id = b.user_id
     WHERE s.flight_id = p_flight_id
       AND coalesce(p.email, b.contact_email) IS NOT NULL
       AND 'email' = ANY(coalesce(up.notification_channels, '{email}'))
$$;

-- Runs in the writer's transaction, whoever the writer is (the API, the simulator,
-- psql), so the news and its mail commit or roll back together. Concurrent updates
-- of one flight queue behind its row lock, so a window is opened once.
CREATE FUNCTION enqueue_flight_notices() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    config mail_settings;
    news text[] := '{}';
    news_kind text;
    opened timestamptz;
    span interval;
BEGIN
    SELECT * INTO config FROM mail_settings;
    IF NEW.estimated_departure IS DISTINCT FROM OLD.estimated_departure
       AND NEW.estimated_departure - NEW.scheduled_departure >= config.delay_threshold THEN
        news := news || 'delay'::text;
    END IF;
    IF NEW.departure_gate IS DISTINCT FROM OLD.departure_gate
       AND NEW.departure_gate IS NOT NULL THEN
        news := news || 'gate'::text;
    END IF;
    IF NEW.status IN ('cancelled', 'diverted') AND OLD.status IS DISTINCT FROM NEW.status THEN
        news := news || NEW.status;
    END IF;
    FOREACH news_kind IN ARRAY news LOOP
        -- A cancellation or a diversion is told at once; delays and gates coalesce.
        span := CASE WHEN news_kind IN ('delay', 'gate') THEN config.flight_notice_window
                     ELSE interval '0' END;
        SELECT w.opened_at INTO opened FROM flight_notice_windows w
         WHERE w.flight_id = NEW.id AND w.kind = news_kind;
        IF opened IS NULL OR opened + span <= now() OR span = interval '0' THEN
            opened := now();
            INSERT INTO flight_notice_windows (flight_id, kind, opened_at)
            VALUES (NEW.id, news_kind, opened)
            ON CONFLICT ON CONSTRAINT flight_notice_windows_pkey
            DO UPDATE SET opened_at = EXCLUDED.opened_at;
        END IF;
        INSERT INTO mail_outbox (idempotency_key, recipient, template, cause, language,
                                 next_attempt_at)
        SELECT format('flight.%s:%s:%s:%s:%s', news_kind, NEW.id,
                      (extract(epoch FROM opened) * 1000000)::bigint, r.booking_id, r.address),
               r.address, 'flight_' || news_kind,
               jsonb_build_object('flight_id', NEW.id, 'booking_id', r.booking_id,
                                  'kind', news_kind),
               r.language, opened + span
          FROM flight_mail_recipients(NEW.id) AS r
        ON CONFLICT (idempotency_key) DO NOTHING;
    END LOOP;
    RETURN NULL;
END
$$;

CREATE TRIGGER flights_enqueue_notices
    AFTER UPDATE OF estimated_departure, departure_gate, status ON flights
    FOR EACH ROW EXECUTE FUNCTION enqueue_flight_notices();

-- The durable scheduler ------------------------------------------------------------

-- A job runs once its due time has come, claimed by any worker of any instance
-- with FOR UPDATE SKIP LOCKED; its effects (the mail it queues) and done_at
-- commit in one transaction, so it runs exactly once. A job tied to a flight is
-- due `lead` before its (estimated) departure, and moves with it.
CREATE TABLE scheduled_jobs (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind        text NOT NULL,
    job_key     text NOT NULL UNIQUE,
    payload     jsonb NOT NULL DEFAULT '{}',
    flight_id   bigint REFERENCES flights ON DELETE CASCADE,
    lead        interval,
    due_at      timestamptz NOT NULL,
    attempts    integer NOT NULL DEFAULT 0,
    last_error  text,
    done_at     timestamptz,
    -- What the run did: 'sent', or why it had nothing left to do ('departed', ...).
    outcome     text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CHECK ((flight_id IS NULL) = (lead IS NULL))
);
CREATE INDEX scheduled_jobs_due_idx ON scheduled_jobs (due_at) WHERE done_at IS NULL;
CREATE INDEX scheduled_jobs_flight_idx ON scheduled_jobs (flight_id) WHERE done_at IS NULL;

CREATE FUNCTION reschedule_flight_jobs() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE scheduled_jobs
       SET due_at = coalesce(NEW.estimated_departure, NEW.scheduled_departure) - lead
     WHERE flight_id = NEW.id AND done_at IS NULL;
    RETURN NULL;
END
$$;

CREATE TRIGGER flights_reschedule_jobs
    AFTER UPDATE OF scheduled_departure, estimated_departure ON flights
    FOR EACH ROW
    WHEN (coalesce(OLD.estimated_departure, OLD.scheduled_departure)
          IS DISTINCT FROM coalesce(NEW.estimated_departure, NEW.scheduled_departure))
    EXECUTE FUNCTION reschedule_flight_jobs();

-- Promotions ------------------------------------------------------------------------

-- A promotional campaign: its content per language (subject, html and text, each a
-- sandboxed template; English is the fallback) and its audience. Only users whose
-- marketing consent is on receive it, each at most once (the outbox key is the
-- campaign and the user), and consent is checked again when each message is sent.
CREATE TABLE mail_campaigns (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name        text NOT NULL,
    content     jsonb NOT NULL CHECK (content ? 'en'),
    -- Users who have booked a flight from this airport, or on this route (NULL: all).
    home_airport char(3) REFERENCES airports,
    route_origin char(3) REFERENCES airports,
    route_destination char(3) REFERENCES airports,
    created_by  uuid,
    created_at  timestamptz NOT NULL DEFAULT now(),
    sent_at     timestamptz,
    recipients  integer,
    CHECK ((route_origin IS NULL) = (route_destination IS NULL))
);
