-- Minimum connection times per airport, as airlines publish them: by the status of the
-- arriving and the departing leg at the connecting airport. 'D' is domestic (the leg's
-- other end is in the same country, or both ends are in the Schengen area, where there is
-- no passport control between them); 'I' is international. Airports without rows use
-- the configured defaults. Reference data: rows for airports not loaded are harmless.
CREATE TABLE minimum_connection_times (
    airport    char(3) NOT NULL CHECK (airport ~ '^[A-Z]{3}$'),
    arriving   char(1) NOT NULL CHECK (arriving IN ('D', 'I')),
    departing  char(1) NOT NULL CHECK (departing IN ('D', 'I')),
    minutes    smallint NOT NULL CHECK (minutes BETWEEN 0 AND 600),
    PRIMARY KEY (airport, arriving, departing)
);

-- Figures of the order the hubs publish (terminal-to-terminal worst cases); arriving
-- international and connecting onto a domestic leg in the US means clearing customs and
-- re-checking bags, hence the long ID times there.
INSERT INTO minimum_connection_times (airport, arriving, departing, minutes)
SELECT airport, s.arriving, s.departing, s.minutes
FROM (VALUES
    ('JFK', 60, 75, 120, 90), ('LAX', 60, 90, 120, 90), ('ORD', 50, 60, 90, 60),
    ('ATL', 55, 60, 90, 90), ('DFW', 45, 60, 90, 60), ('SFO', 60, 75, 90, 90),
    ('MIA', 50, 60, 90, 60), ('BOS', 45, 60, 90, 60), ('EWR', 45, 75, 120, 90),
    ('SEA', 45, 60, 90, 75), ('YYZ', 45, 75, 90, 70), ('YVR', 45, 75, 90, 60),
    ('LHR', 60, 60, 90, 90), ('LGW', 60, 60, 75, 75), ('CDG', 60, 75, 75, 90),
    ('FRA', 45, 45, 45, 45), ('MUC', 30, 45, 45, 45), ('AMS', 40, 50, 50, 50),
    ('ZRH', 40, 40, 40, 40), ('MAD', 45, 60, 60, 60), ('BCN', 45, 60, 60, 60),
    ('FCO', 45, 60, 60, 60), ('VIE', 30, 30, 30, 30), ('CPH', 30, 40, 40, 40),
    ('IST', 60, 75, 75, 60), ('DXB', 75, 75, 75, 75), ('DOH', 60, 60, 60, 60),
    ('SIN', 60, 60, 60, 60), ('HKG', 60, 60, 60, 60), ('NRT', 60, 90, 90, 60),
    ('HND', 45, 120, 120, 60), ('ICN', 60, 90, 90, 60), ('SYD', 45, 90, 90, 60),
    ('MEL', 45, 90, 90, 60), ('DEL', 60, 150, 150, 90), ('GRU', 60, 90, 120, 90)
) AS hub(airport, dd, di, id, ii)
CROSS JOIN LATERAL (VALUES ('D', 'D', hub.dd), ('D', 'I', hub.di), ('I', 'D', hub.id),
                           ('I', 'I', hub.ii)) AS s(arriving, departing, minutes);
