-- Times with their operational meaning, and the airframe that flies each leg.
--
-- actual_departure and actual_arrival are the off-block and on-block times (leaving and
-- reaching the gate, what "on time" is measured by); take-off and landing are their own.
ALTER TABLE flights
    ADD COLUMN actual_takeoff timestamptz,
    ADD COLUMN actual_landing timestamptz;
COMMENT ON COLUMN flights.actual_departure IS 'Actual off-block time (left the gate).';
COMMENT ON COLUMN flights.actual_arrival IS 'Actual on-block time (reached the gate).';

-- Airframes by tail number, and which one flies each leg after which (the rotation):
-- a late inbound aircraft delays its next departure.
CREATE TABLE airframes (
    tail_number    text PRIMARY KEY CHECK (tail_number ~ '^[A-Z0-9-]{2,10}$'),
    carrier        char(2) NOT NULL REFERENCES airlines,
    aircraft_type  text,
    serial         integer NOT NULL,
    UNIQUE (carrier, serial)
);

CREATE TABLE flight_rotations (
    flight_id           bigint PRIMARY KEY REFERENCES flights ON DELETE CASCADE,
    tail_number         text NOT NULL REFERENCES airframes,
    previous_flight_id  bigint REFERENCES flights ON DELETE SET NULL
);
CREATE INDEX flight_rotations_previous_idx ON flight_rotations (previous_flight_id);
CREATE INDEX flight_rotations_tail_idx ON flight_rotations (tail_number);
