-- Comments on the tables that arrived with the booking history and the statistics rollup
-- (0028, 0029), in the style of 0033, so that docs/schema.md describes them too.
-- Plain COMMENT ON: these tables are created by the migrations just before this one.

-- Tables
COMMENT ON TABLE booking_history IS
    'Every confirmed change or cancellation of a booking: who made it and, when an agent acted for the passenger, why. Written in the confirming transaction; append-only like the audit log.';
COMMENT ON TABLE flight_seat_take_up IS
    'Seat-map take-up per leg: passengers holding a seat, and those holding a paid one. Kept up to date by triggers on seats and EMDs, so a report reads one row per leg.';
COMMENT ON TABLE refunds_daily IS
    'Statistics per UTC day and currency: cancellations by the rule that priced them and succeeded refunds by their cause. Rolled up at commit by triggers; a report sums the slots.';
COMMENT ON TABLE routes_daily IS
    'Statistics per UTC day and route as booked (first origin to the end of the outbound journey): bookings, passengers and cancellations. Rolled up at commit by triggers.';
COMMENT ON TABLE sales_daily IS
    'Statistics per UTC day and currency: bookings made and cancelled, money charged and refunded. Rolled up at commit by triggers so a report reads a few hundred rows; a report sums the slots. Archived bookings keep their contribution.';

-- Columns
COMMENT ON COLUMN booking_history.actor IS
    'The user who confirmed it: the passenger, or the agent acting for them.';
COMMENT ON COLUMN booking_history.at IS
    'When it was confirmed.';
COMMENT ON COLUMN booking_history.booking_id IS
    'The booking changed or cancelled; no foreign key, so the history outlives archiving.';
COMMENT ON COLUMN booking_history.id IS
    'Order of writing: a booking''s history reads in this order.';
COMMENT ON COLUMN booking_history.kind IS
    'change or cancellation.';
COMMENT ON COLUMN booking_history.on_behalf IS
    'Whether someone other than the owner (an agent) confirmed it.';
COMMENT ON COLUMN booking_history.quote_id IS
    'The quote confirmed; unique, so a quote enters the history once.';
COMMENT ON COLUMN booking_history.reason IS
    'Why, when an agent acted for the passenger; empty when the owner did.';
COMMENT ON COLUMN flight_seat_take_up.flight_id IS
    'The leg.';
COMMENT ON COLUMN flight_seat_take_up.paid IS
    'Passengers holding a paid seat (an open or used EMD).';
COMMENT ON COLUMN flight_seat_take_up.seated IS
    'Passengers holding a seat on the leg.';
COMMENT ON COLUMN refunds_daily.cancellations IS
    'Bookings cancelled that day under this rule.';
COMMENT ON COLUMN refunds_daily.cause IS
    'The cancellation rule that priced it, or the kind of change that gave money back (other when neither is known).';
COMMENT ON COLUMN refunds_daily.currency IS
    'ISO 4217 currency of the amounts.';
COMMENT ON COLUMN refunds_daily.day IS
    'The UTC day of the cancellation or the refund.';
COMMENT ON COLUMN refunds_daily.refunded_minor IS
    'Money refunded that day for this cause, in minor units.';
COMMENT ON COLUMN refunds_daily.refunds IS
    'Refunds that succeeded that day for this cause.';
COMMENT ON COLUMN refunds_daily.slot IS
    'One of 16 slots chosen by booking id, so concurrent commits of one day rarely wait on one row.';
COMMENT ON COLUMN routes_daily.bookings IS
    'Bookings made that day on the route.';
COMMENT ON COLUMN routes_daily.cancellations IS
    'Bookings on the route cancelled that day.';
COMMENT ON COLUMN routes_daily.day IS
    'The UTC day of the booking or the cancellation.';
COMMENT ON COLUMN routes_daily.destination IS
    'IATA code where the outbound journey ends (the last leg of the first slice).';
COMMENT ON COLUMN routes_daily.origin IS
    'IATA code where the booking''s first leg departs.';
COMMENT ON COLUMN routes_daily.passengers IS
    'Passengers on the bookings made that day on the route.';
COMMENT ON COLUMN sales_daily.bookings IS
    'Bookings made that day.';
COMMENT ON COLUMN sales_daily.cancellations IS
    'Bookings cancelled that day.';
COMMENT ON COLUMN sales_daily.charged_minor IS
    'Money charged that day (succeeded charges), in minor units.';
COMMENT ON COLUMN sales_daily.currency IS
    'ISO 4217 currency of the bookings and amounts.';
COMMENT ON COLUMN sales_daily.day IS
    'The UTC day the booking, cancellation or payment happened.';
COMMENT ON COLUMN sales_daily.refunded_minor IS
    'Money refunded that day (succeeded refunds), in minor units.';
COMMENT ON COLUMN sales_daily.slot IS
    'One of 16 slots chosen by booking id, so concurrent commits of one day rarely wait on one row.';

-- Indexes
COMMENT ON INDEX booking_history_booking_idx IS
    'A booking''s history, in order, is a range scan on this.';
