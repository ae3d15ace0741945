-- Flight coupons of e-tickets, and EMDs (electronic miscellaneous documents) for paid seats.
--
-- A ticket has one coupon per segment it covers, four to a document: a fifth segment
-- goes on a conjunction ticket, the next document number. So that conjunction numbers
-- are free, each ticket's serial now reserves a block of five consecutive document
-- numbers (up to twenty coupons: six slices of three legs is eighteen).
ALTER SEQUENCE ticket_serial_seq INCREMENT BY 5 MAXVALUE 7999999995;

CREATE TABLE ticket_coupons (
    ticket_number    char(13) NOT NULL REFERENCES tickets ON DELETE CASCADE,
    coupon_no        smallint NOT NULL CHECK (coupon_no >= 1),
    -- The document printing this coupon: the ticket itself for coupons 1-4, then its
    -- conjunction tickets. Its coupon number there is ((coupon_no - 1) % 4) + 1.
    document_number  char(13) NOT NULL CHECK (document_number ~ '^[0-9]{13}$'),
    booking_id       uuid NOT NULL REFERENCES bookings ON DELETE CASCADE,
    segment_no       integer NOT NULL,
    flight_id        bigint NOT NULL REFERENCES flights,
    -- open -> checked_in -> lifted (boarded) -> flown; or refunded, exchanged, void.
    status           text NOT NULL DEFAULT 'open' CHECK (status IN (
                         'open', 'checked_in', 'lifted', 'flown', 'refunded', 'exchanged',
                         'void')),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (ticket_number, coupon_no)
);
-- Departures and arrivals move the coupons of their flight still in play.
CREATE INDEX ticket_coupons_flight_idx ON ticket_coupons (flight_id)
    WHERE status IN ('open', 'checked_in', 'lifted');

-- A ticket's coupons are its booking's segments at issue, in travel order.
CREATE FUNCTION issue_coupons() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ticket_coupons (ticket_number, coupon_no, document_number, booking_id,
                                segment_no, flight_id)
    SELECT NEW.ticket_number, n, lpad((NEW.ticket_number::bigint + (n - 1) / 4)::text, 13, '0'),
           NEW.booking_id, s.segment_no, s.flight_id
    FROM (SELECT segment_no, flight_id, row_number() OVER (ORDER BY segment_no) AS n
          FROM booking_segments WHERE booking_id = NEW.booking_id) s;
    RETURN NEW;
END
$$;
CREATE TRIGGER tickets_issue_coupons AFTER INSERT ON tickets
    FOR EACH ROW EXECUTE FUNCTION issue_coupons();

-- A voided, refunded or exchanged ticket takes its unflown coupons with it.
CREATE FUNCTION settle_coupons() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status IN ('void', 'refunded', 'exchanged') THEN
        UPDATE ticket_coupons SET status = NEW.status, updated_at = now()
        WHERE ticket_number = NEW.ticket_number AND status IN ('open', 'checked_in');
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER tickets_settle_coupons AFTER UPDATE OF status ON tickets
    FOR EACH ROW WHEN (NEW.status IS DISTINCT FROM OLD.status)
    EXECUTE FUNCTION settle_coupons();

-- Seats and other paid services are sold on EMDs: their own 13-digit numbers (the
-- validating carrier's accounting code and a document number from their own range),
-- one per passenger per service, refunded by their own rules.
CREATE SEQUENCE emd_serial_seq MINVALUE 8000000001 MAXVALUE 8999999999 START 8000000001;

CREATE TABLE emds (
    emd_number     char(13) PRIMARY KEY CHECK (emd_number ~ '^[0-9]{13}$'),
    booking_id     uuid NOT NULL REFERENCES bookings ON DELETE CASCADE,
    passenger_id   uuid NOT NULL REFERENCES passengers ON DELETE CASCADE,
    -- Reason for issuance: C (baggage), A (air transportation, with the sub code 0B5
    -- for a seat assignment, as ATPCO codes it).
    rfic           char(1) NOT NULL DEFAULT 'A',
    rfisc          text NOT NULL DEFAULT '0B5',
    description    text NOT NULL,
    flight_id      bigint REFERENCES flights,
    seat           text,
    amount_minor   bigint NOT NULL CHECK (amount_minor >= 0),
    currency       char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    -- open -> used (the flight left with the passenger aboard); or refunded, void,
    -- exchanged (the seat changed to another paid seat).
    status         text NOT NULL DEFAULT 'open'
                   CHECK (status IN ('open', 'used', 'refunded', 'void', 'exchanged')),
    issued_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX emds_booking_idx ON emds (booking_id);
CREATE INDEX emds_flight_idx ON emds (flight_id) WHERE status = 'open';

-- Departure lifts the coupons of checked-in passengers (no-shows stay open) and uses
-- their seat EMDs; arrival makes lifted coupons flown; a ticket whose coupons are all
-- flown, refunded or exchanged with at least one flown is used.
CREATE FUNCTION fly_coupons() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status = 'departed' THEN
        UPDATE ticket_coupons SET status = 'lifted', updated_at = now()
        WHERE flight_id = NEW.id AND status = 'checked_in';
        UPDATE emds e SET status = 'used'
        FROM ticket_coupons c JOIN tickets t ON t.ticket_number = c.ticket_number
        WHERE e.flight_id = NEW.id AND e.status = 'open' AND c.flight_id = NEW.id
          AND c.status = 'lifted' AND t.passenger_id = e.passenger_id;
    ELSIF NEW.status IN ('landed', 'arrived') THEN
        WITH flown AS (
            UPDATE ticket_coupons SET status = 'flown', updated_at = now()
            WHERE flight_id = NEW.id AND status = 'lifted'
            RETURNING ticket_number
        )
        UPDATE tickets t SET status = 'used'
        WHERE t.ticket_number IN (SELECT ticket_number FROM flown) AND t.status = 'open'
          AND NOT EXISTS (SELECT 1 FROM ticket_coupons c
                          WHERE c.ticket_number = t.ticket_number
                            AND c.status IN ('open', 'checked_in', 'lifted')
                            AND c.flight_id <> NEW.id);
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER flights_fly_coupons AFTER UPDATE OF status ON flights
    FOR EACH ROW WHEN (NEW.status IS DISTINCT FROM OLD.status
                       AND NEW.status IN ('departed', 'landed', 'arrived'))
    EXECUTE FUNCTION fly_coupons();

-- Tickets issued before get their coupons now, settled like their ticket.
INSERT INTO ticket_coupons (ticket_number, coupon_no, document_number, booking_id, segment_no,
                            flight_id, status)
SELECT t.ticket_number, s.n, lpad((t.ticket_number::bigint + (s.n - 1) / 4)::text, 13, '0'),
       t.booking_id, s.segment_no, s.flight_id,
       CASE t.status WHEN 'used' THEN 'flown' ELSE t.status END
FROM tickets t
JOIN LATERAL (SELECT segment_no, flight_id, row_number() OVER (ORDER BY segment_no) AS n
              FROM booking_segments WHERE booking_id = t.booking_id) s ON true
WHERE t.status IN ('open', 'used', 'void', 'refunded');
