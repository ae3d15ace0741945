-- Bookings: seat holds and seat-map events, idempotent requests, the fare a
-- booking was sold at, payments and refunds, ticket documents, and quotes for
-- changes and cancellations.

-- Seats ------------------------------------------------------------------

-- A seat held for a user while they book. A hold is live until expires_at;
-- readers treat an expired hold as free whether or not the reaper has deleted
-- it yet, so expiry never waits on a background task.
CREATE TABLE seat_holds (
    flight_id   bigint NOT NULL REFERENCES flights ON DELETE CASCADE,
    seat        text NOT NULL CHECK (seat ~ '^[0-9]{1,3}[A-K]$'),
    hold_id     uuid NOT NULL,
    user_id     uuid NOT NULL,
    expires_at  timestamptz NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (flight_id, seat)
);
CREATE INDEX seat_holds_expiry_idx ON seat_holds (expires_at);
CREATE INDEX seat_holds_user_idx ON seat_holds (user_id, flight_id);

-- The state a seat map shows for one seat now: booked, held or available.
CREATE FUNCTION seat_state(p_flight_id bigint, p_seat text) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN EXISTS (SELECT 1 FROM seat_assignments
                      WHERE flight_id = p_flight_id AND seat = p_seat) THEN 'booked'
        WHEN EXISTS (SELECT 1 FROM seat_holds
                      WHERE flight_id = p_flight_id AND seat = p_seat
                        AND expires_at > now()) THEN 'held'
        ELSE 'available'
    END
$$;

-- One seats.changed event per flight per statement, carrying each touched
-- seat's state as of the end of the statement. Writers that move a seat from
-- held to booked insert the assignment before deleting the hold, so watchers
-- never see a booked seat flash available.
CREATE FUNCTION capture_seat_changes() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    touched record;
BEGIN
    FOR touched IN
        SELECT flight_id, jsonb_object_agg(seat, seat_state(flight_id, seat)) AS seats
          FROM (SELECT flight_id, seat FROM changed_rows GROUP BY flight_id, seat) AS s
         GROUP BY flight_id
    LOOP
        PERFORM record_change(
            'seats.changed', 'seats', touched.flight_id::text, NULL,
            ARRAY['seats:' || touched.flight_id],
            jsonb_build_object('flight_id', touched.flight_id, 'seats', touched.seats));
    END LOOP;
    RETURN NULL;
END
$$;

-- A transition table serves one event per trigger, hence a trigger per event.
CREATE TRIGGER seat_assignments_capture_insert
    AFTER INSERT ON seat_assignments REFERENCING NEW TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION capture_seat_changes();
CREATE TRIGGER seat_assignments_capture_delete
    AFTER DELETE ON seat_assignments REFERENCING OLD TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION capture_seat_changes();
CREATE TRIGGER seat_holds_capture_insert
    AFTER INSERT ON seat_holds REFERENCING NEW TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION capture_seat_changes();
CREATE TRIGGER seat_holds_capture_update
    AFTER UPDATE ON seat_holds REFERENCING NEW TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION capture_seat_changes();
CREATE TRIGGER seat_holds_capture_delete
    AFTER DELETE ON seat_holds REFERENCING OLD TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION capture_seat_changes();

-- Requests ---------------------------------------------------------------

-- One row per (user, operation, Idempotency-Key). The row is inserted first in
-- the request's own transaction, so a racing retry blocks on the primary key
-- until the first attempt commits (then replays its response) or rolls back
-- (then runs itself). A failed attempt leaves no row behind.
CREATE TABLE idempotency_keys (
    user_id          uuid NOT NULL,
    operation        text NOT NULL,
    key              text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    request_hash     bytea NOT NULL,
    response_status  integer,
    response         jsonb,
    created_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, operation, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);

-- Bookings ---------------------------------------------------------------

-- What the booking was sold at: brand, unit prices per passenger type, and the
-- fare rules (change and cancellation fees, refundability) that later quotes
-- apply. Kept on the booking because brands and fares change after the sale.
ALTER TABLE bookings ADD COLUMN fare jsonb NOT NULL DEFAULT '{}';
ALTER TABLE bookings ADD COLUMN cancellation_reason text;

-- A ticket's receipt document, stored through the storage interface.
ALTER TABLE tickets ADD COLUMN document_key text;
-- Ticketing and booking reads find a passenger's tickets; without this index both
-- scan every ticket ever issued.
CREATE INDEX tickets_passenger_idx ON tickets (passenger_id);
-- Cancellations and changes release a booking's seats by booking.
CREATE INDEX seat_assignments_booking_idx ON seat_assignments (booking_id);

-- Ticket serials: nine digits after the airline's accounting code.
CREATE SEQUENCE ticket_serial_seq MINVALUE 1 MAXVALUE 999999999 START 100000001;

-- Payments record what the provider did: the charge at purchase, and refunds
-- and extra charges from changes and cancellations, each with its own status.
ALTER TABLE payments ADD COLUMN payment_method_id uuid;
ALTER TABLE payments ADD COLUMN card_brand text;
ALTER TABLE payments ADD COLUMN card_last4 char(4);
ALTER TABLE payments ADD COLUMN refund_of uuid REFERENCES payments;
ALTER TABLE payments ADD COLUMN reason text;
ALTER TABLE payments ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
-- What is left to refund of a charge: its refunds, found by the charge.
CREATE INDEX payments_refund_of_idx ON payments (refund_of) WHERE refund_of IS NOT NULL;

-- A priced proposal to change or cancel a booking. Confirming it is a single
-- UPDATE ... WHERE confirmed_at IS NULL, so a quote is confirmed at most once;
-- the stored result answers every later confirmation.
CREATE TABLE booking_quotes (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    booking_id      uuid NOT NULL REFERENCES bookings ON DELETE CASCADE,
    kind            text NOT NULL CHECK (kind IN ('change', 'cancellation')),
    booking_version integer NOT NULL,
    details         jsonb NOT NULL,
    -- Positive: the traveller pays; negative: the traveller is refunded.
    amount_minor    bigint NOT NULL,
    currency        char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    expires_at      timestamptz NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    confirmed_at    timestamptz,
    result          jsonb
);
CREATE INDEX booking_quotes_booking_idx ON booking_quotes (booking_id, created_at);

-- The simulated payment provider --------------------------------------------

-- SIMULATED: the ledger of the built-in "simulated" payment provider, which
-- moves no money. It stands in for a real provider's records, so it is written
-- outside the booking's transaction, as a real provider's would be, and tests
-- read it to prove that a failed booking left no charge behind.
CREATE TABLE simulated_provider_ledger (
    ref              text PRIMARY KEY,
    idempotency_key  text NOT NULL UNIQUE,
    kind             text NOT NULL CHECK (kind IN ('charge', 'refund')),
    charge_ref       text REFERENCES simulated_provider_ledger,
    amount_minor     bigint NOT NULL CHECK (amount_minor > 0),
    currency         char(3) NOT NULL,
    status           text NOT NULL CHECK (status IN ('succeeded', 'declined', 'voided')),
    decline_code     text,
    created_at       timestamptz NOT NULL DEFAULT now()
);
