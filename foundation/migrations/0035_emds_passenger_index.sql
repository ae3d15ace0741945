-- A booking read and an e-ticket receipt gather each passenger's EMDs by passenger_id
-- (domain/bookings/queries.py, domain/receipts.py), and deleting a passenger cascades to
-- them: without an index each of those scans every EMD ever issued, as tickets did
-- before their passenger index.
CREATE INDEX emds_passenger_idx ON emds (passenger_id);
COMMENT ON INDEX emds_passenger_idx IS
    'A passenger''s EMDs, for the booking read, the receipt and the passenger delete cascade.';
