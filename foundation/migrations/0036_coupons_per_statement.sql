-- A ticket's coupons are its booking's segments at issue, in travel order: now issued
-- once per statement for every ticket it inserted (a booking issues all its passengers'
-- tickets in one INSERT), from the transition table, instead of a function call and a
-- window query per ticket. Same rows as 0023's row trigger.
CREATE OR REPLACE FUNCTION issue_coupons() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ticket_coupons (ticket_number, coupon_no, document_number, booking_id,
                                segment_no, flight_id)
    SELECT t.ticket_number, s.n, lpad((t.ticket_number::bigint + (s.n - 1) / 4)::text, 13, '0'),
           t.booking_id, s.segment_no, s.flight_id
    FROM issued t
    JOIN (SELECT booking_id, segment_no, flight_id,
                 row_number() OVER (PARTITION BY booking_id ORDER BY segment_no) AS n
            FROM booking_segments
           WHERE booking_id IN (SELECT booking_id FROM issued)) s
      ON s.booking_id = t.booking_id
    ORDER BY t.ticket_number, s.n;
    RETURN NULL;
END
$$;

DROP TRIGGER tickets_issue_coupons ON tickets;
CREATE TRIGGER tickets_issue_coupons AFTER INSERT ON tickets
    REFERENCING NEW TABLE AS issued
    FOR EACH STATEMENT EXECUTE FUNCTION issue_coupons();
