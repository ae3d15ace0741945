-- Check-in moves the flight coupon: checked in with the passenger, open again when the
-- check-in is undone (whoever writes check_ins: the API, an agent, SQL).
CREATE FUNCTION check_in_coupon() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    checked_in boolean := NEW.status = 'checked_in';
BEGIN
    UPDATE ticket_coupons c
       SET status = CASE WHEN checked_in THEN 'checked_in' ELSE 'open' END,
           updated_at = now()
      FROM tickets t
     WHERE t.passenger_id = NEW.passenger_id AND t.status = 'open'
       AND c.ticket_number = t.ticket_number AND c.flight_id = NEW.flight_id
       AND c.status = CASE WHEN checked_in THEN 'open' ELSE 'checked_in' END;
    RETURN NULL;
END
$$;
CREATE TRIGGER check_ins_coupon AFTER INSERT OR UPDATE OF status ON check_ins
    FOR EACH ROW EXECUTE FUNCTION check_in_coupon();

UPDATE ticket_coupons c SET status = 'checked_in', updated_at = now()
  FROM check_ins ci JOIN tickets t ON t.passenger_id = ci.passenger_id AND t.status = 'open'
 WHERE ci.status = 'checked_in' AND c.ticket_number = t.ticket_number
   AND c.flight_id = ci.flight_id AND c.status = 'open';
