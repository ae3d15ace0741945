-- Flight search: route index, reference exchange rates, the offer signing key,
-- and change capture of fares and seat inventory (so cached searches are
-- invalidated by a price change or a seat sale, whoever writes it).

-- Direct legs of a route on a day, and the middle legs of two-stop itineraries
-- (origin = ANY(...) AND destination = ANY(...)), are range scans on this.
CREATE INDEX flights_route_departure_idx ON flights (origin, destination, scheduled_departure);

-- Reference rates for pricing itineraries that mix carriers' currencies.
-- units_per_usd: how many major units of the currency one US dollar buys.
CREATE TABLE exchange_rates (
    currency       char(3) PRIMARY KEY CHECK (currency ~ '^[A-Z]{3}$'),
    units_per_usd  numeric(20, 8) NOT NULL CHECK (units_per_usd > 0),
    minor_digits   smallint NOT NULL DEFAULT 2 CHECK (minor_digits BETWEEN 0 AND 4),
    updated_at     timestamptz NOT NULL DEFAULT now()
);

INSERT INTO exchange_rates (currency, units_per_usd, minor_digits) VALUES
    ('USD', 1, 2), ('EUR', 0.92, 2), ('GBP', 0.79, 2), ('CHF', 0.88, 2), ('CAD', 1.36, 2),
    ('AUD', 1.52, 2), ('NZD', 1.66, 2), ('AED', 3.6725, 2), ('SGD', 1.34, 2), ('HKD', 7.81, 2),
    ('MXN', 17.1, 2), ('BRL', 5.05, 2), ('INR', 83.2, 2), ('ZAR', 18.6, 2), ('CNY', 7.23, 2),
    ('JPY', 151.0, 0), ('KRW', 1350.0, 0), ('SEK', 10.5, 2), ('NOK', 10.7, 2), ('DKK', 6.87, 2),
    ('TRY', 32.3, 2), ('THB', 36.4, 2);

-- Secrets the whole fleet must share (all workers, all instances, across
-- restarts) without an operator configuring them. gen_random_uuid() draws on
-- the server's strong random source; two of them give 244 random bits.
CREATE TABLE app_secrets (
    name        text PRIMARY KEY,
    secret      text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
INSERT INTO app_secrets (name, secret)
VALUES ('offer_signing', replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''));

-- Inventory events: a fare or seat count of a leg's cabin changed. Not shown
-- on boards; searches and seat maps listen to inventory:{flight_id}.
CREATE FUNCTION capture_inventory_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF (OLD.capacity, OLD.seats_sold, OLD.base_fare_minor, OLD.currency)
       IS NOT DISTINCT FROM (NEW.capacity, NEW.seats_sold, NEW.base_fare_minor, NEW.currency) THEN
        RETURN NULL;
    END IF;
    PERFORM record_change(
        'inventory.changed', 'inventory', NEW.flight_id || ':' || NEW.cabin, NEW.version,
        ARRAY['inventory:' || NEW.flight_id],
        jsonb_build_object(
            'inventory', jsonb_build_object(
                'flight_id', NEW.flight_id, 'cabin', NEW.cabin, 'capacity', NEW.capacity,
                'seats_available', NEW.capacity - NEW.seats_sold,
                'base_fare_minor', NEW.base_fare_minor, 'currency', NEW.currency,
                'version', NEW.version),
            'changes', jsonb_strip_nulls(jsonb_build_object(
                'seats_sold', CASE WHEN OLD.seats_sold <> NEW.seats_sold
                                   THEN jsonb_build_array(OLD.seats_sold, NEW.seats_sold) END,
                'base_fare_minor', CASE WHEN OLD.base_fare_minor <> NEW.base_fare_minor
                                        THEN jsonb_build_array(OLD.base_fare_minor,
                                                               NEW.base_fare_minor) END,
                'capacity', CASE WHEN OLD.capacity <> NEW.capacity
                                 THEN jsonb_build_array(OLD.capacity, NEW.capacity) END))));
    RETURN NULL;
END
$$;

CREATE TRIGGER flight_cabins_capture
    AFTER UPDATE ON flight_cabins
    FOR EACH ROW EXECUTE FUNCTION capture_inventory_change();
