-- Currencies with three decimals (ISO 4217 exponent 3) become sellable: prices in them
-- are in fils or baisa, and conversion already scales by each side's minor digits.
-- Reference rates (units per US dollar); the Gulf currencies are pegged.
INSERT INTO exchange_rates (currency, units_per_usd, minor_digits) VALUES
    ('KWD', 0.307, 3), ('BHD', 0.376, 3), ('OMR', 0.3845, 3), ('JOD', 0.709, 3)
ON CONFLICT (currency) DO NOTHING;
