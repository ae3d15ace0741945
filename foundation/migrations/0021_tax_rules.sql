-- Taxes, fees and carrier surcharges added to base fares, as reference data (loaded by
-- `skybound seed`, with the airports they name). Each rule is levied per passenger on a
-- leg: on its departure from a country or airport, or on its arrival in a country from
-- abroad; carrier surcharges (YQ, YR) on the legs a carrier flies. Amounts are fixed in
-- their own currency, or a share of the leg's base fare (the US transportation tax).
CREATE TABLE tax_rules (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code           char(2) NOT NULL CHECK (code ~ '^[A-Z0-9]{2}$'),
    name           text NOT NULL,
    -- Government taxes and airport charges are refunded even on non-refundable fares
    -- when the passenger does not fly; carrier surcharges follow the fare.
    kind           text NOT NULL CHECK (kind IN ('government', 'airport', 'carrier')),
    levied_on      text NOT NULL DEFAULT 'departure'
                   CHECK (levied_on IN ('departure', 'arrival')),
    country        char(2) CHECK (country ~ '^[A-Z]{2}$'),
    airport        char(3) CHECK (airport ~ '^[A-Z]{3}$'),
    carrier        char(2),
    -- short_haul / long_haul: the leg's great-circle distance under / from 2,000 miles.
    route          text NOT NULL DEFAULT 'any'
                   CHECK (route IN ('any', 'domestic', 'international', 'short_haul',
                                    'long_haul')),
    -- NULL: every cabin; false: economy only; true: every cabin above economy.
    premium        boolean,
    amount_minor   bigint CHECK (amount_minor >= 0),
    currency       char(3) CHECK (currency ~ '^[A-Z]{3}$'),
    percent_bp     integer CHECK (percent_bp BETWEEN 0 AND 10000),
    children       boolean NOT NULL DEFAULT true,
    infants        boolean NOT NULL DEFAULT false,
    -- At most this many times per direction of travel (the US PFC: 4; the AY fee: 2).
    max_per_slice  smallint CHECK (max_per_slice > 0),
    CHECK ((amount_minor IS NOT NULL AND currency IS NOT NULL) <> (percent_bp IS NOT NULL)),
    CHECK (num_nonnulls(country, airport, carrier) >= 1)
);
