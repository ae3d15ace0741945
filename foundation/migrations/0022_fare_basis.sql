-- Each segment's booking class (RBD: the one-letter inventory class that ticket coupons
-- and boarding passes print) and fare basis code, from the cabin and the fare brand
-- sold. The mapping lives here, once: a trigger stamps every segment however it is
-- written (a booking, a flight change, an operator's SQL), and backfills the old ones.
CREATE FUNCTION booking_class_of(cabin text, brand text) RETURNS char(1)
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE cabin
        WHEN 'first' THEN CASE brand WHEN 'Flex' THEN 'F' ELSE 'A' END
        WHEN 'business' THEN CASE brand WHEN 'Flex' THEN 'J' WHEN 'Standard' THEN 'D' ELSE 'I' END
        WHEN 'premium_economy' THEN CASE brand WHEN 'Flex' THEN 'W' ELSE 'E' END
        ELSE CASE brand WHEN 'Flex' THEN 'Y' WHEN 'Standard' THEN 'M' ELSE 'Q' END
    END
$$;

-- RBD then the brand: MSTD is economy Standard, YFLX economy Flex, QLGT economy Light.
CREATE FUNCTION fare_basis_of(booking_class char(1), brand text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT booking_class || CASE brand
        WHEN 'Light' THEN 'LGT' WHEN 'Standard' THEN 'STD' WHEN 'Flex' THEN 'FLX'
        ELSE coalesce(nullif(upper(left(regexp_replace(brand, '[^A-Za-z]', '', 'g'), 3)), ''),
                      'X')
    END
$$;

ALTER TABLE booking_segments
    ADD COLUMN booking_class char(1) CHECK (booking_class ~ '^[A-Z]$'),
    ADD COLUMN fare_basis text CHECK (fare_basis ~ '^[A-Z0-9]{1,15}$');

CREATE FUNCTION stamp_fare_basis() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    brand text;
BEGIN
    -- A new cabin or brand restamps; an insert keeps classes its writer chose.
    IF TG_OP = 'UPDATE' THEN
        NEW.booking_class := NULL;
        NEW.fare_basis := NULL;
    END IF;
    IF NEW.booking_class IS NULL OR NEW.fare_basis IS NULL THEN
        SELECT name INTO brand FROM fare_brands WHERE code = NEW.fare_brand;
        NEW.booking_class := coalesce(NEW.booking_class, booking_class_of(NEW.cabin, brand));
        NEW.fare_basis := coalesce(NEW.fare_basis, fare_basis_of(NEW.booking_class, brand));
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER booking_segments_fare_basis
    BEFORE INSERT OR UPDATE OF cabin, fare_brand ON booking_segments
    FOR EACH ROW EXECUTE FUNCTION stamp_fare_basis();

UPDATE booking_segments s
SET booking_class = booking_class_of(s.cabin, b.name),
    fare_basis = fare_basis_of(booking_class_of(s.cabin, b.name), b.name)
FROM fare_brands b
WHERE b.code = s.fare_brand;

ALTER TABLE booking_segments
    ALTER COLUMN booking_class SET NOT NULL,
    ALTER COLUMN fare_basis SET NOT NULL;
