-- Codeshares: a leg one carrier operates, also sold under a partner's code and number
-- (KA7001 operated by Skybound Airways). Boards list the codes; an itinerary sold by the
-- partner shows its segment under the partner's code, "operated by" the operator.
CREATE TABLE codeshares (
    flight_id          bigint NOT NULL REFERENCES flights ON DELETE CASCADE,
    marketing_carrier  char(2) NOT NULL REFERENCES airlines,
    marketing_number   integer NOT NULL CHECK (marketing_number BETWEEN 1 AND 9999),
    PRIMARY KEY (flight_id, marketing_carrier)
);
CREATE INDEX codeshares_marketing_idx ON codeshares (marketing_carrier, marketing_number);

-- The captured state of a flight carries its codes, as the API's flight does.
CREATE OR REPLACE FUNCTION flight_state(f flights) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT to_jsonb(f) || jsonb_build_object(
               'carrier_name', al.name,
               'origin_name', o.name, 'origin_city', o.city, 'origin_country', o.country,
               'origin_tz', o.time_zone,
               'destination_name', d.name, 'destination_city', d.city,
               'destination_country', d.country, 'destination_tz', d.time_zone,
               'aircraft_name', ac.name,
               'codeshares', (SELECT coalesce(jsonb_agg(rtrim(c.marketing_carrier)
                                                        || c.marketing_number
                                                        ORDER BY c.marketing_carrier), '[]')
                                FROM codeshares c WHERE c.flight_id = f.id))
      FROM airlines al, airports o, airports d
      LEFT JOIN aircraft_types ac ON ac.code = f.aircraft_type
     WHERE al.code = f.carrier AND o.iata = f.origin AND d.iata = f.destination
$$;
