-- A lap infant travels on one adult's lap: the adult's passenger_no, one infant per adult.
-- It decides who may not sit in an exit row (an adult holding an infant) and whose lap
-- the boarding documents name.
ALTER TABLE passengers ADD COLUMN accompanied_by smallint;

-- Bookings made before: the k-th infant travels with the k-th adult, as booking did by
-- default (search never offered more infants than adults).
WITH infants AS (
    SELECT id, booking_id, row_number() OVER (PARTITION BY booking_id ORDER BY passenger_no) AS k
    FROM passengers WHERE passenger_type = 'infant'
), adults AS (
    SELECT booking_id, passenger_no,
           row_number() OVER (PARTITION BY booking_id ORDER BY passenger_no) AS k
    FROM passengers WHERE passenger_type = 'adult'
)
UPDATE passengers p SET accompanied_by = a.passenger_no
FROM infants i JOIN adults a USING (booking_id, k)
WHERE p.id = i.id;

ALTER TABLE passengers
    ADD CONSTRAINT passengers_only_infants_accompanied
        CHECK (accompanied_by IS NULL OR passenger_type = 'infant'),
    ADD CONSTRAINT passengers_one_infant_per_adult UNIQUE (booking_id, accompanied_by);
