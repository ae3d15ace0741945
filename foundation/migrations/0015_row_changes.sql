-- Row changes for the Supabase-Realtime-compatible endpoint (postgres_changes).
--
-- Supabase clients subscribe to INSERT, UPDATE and DELETE of tables and expect each
-- row as the table holds it, not Skybound's rendered events. These triggers append
-- one `row.insert|update|delete` event per changed row to the same change log, so
-- postgres_changes inherit its commit-safe positions: lossless, ordered, resumable.
--
-- Statement-level triggers with transition tables: a bulk load (the seed's COPY of
-- thousands of legs) costs one call, one id allocation and one horizon per
-- statement, not per row. Ids are taken before the horizon is read, as
-- record_change() does, so the release argument of 0002 holds for them too.
--
-- A bulk load of schedule or reference data (the seed's millions of legs) is not
-- news and would swamp the log: its transaction says `SET LOCAL
-- skybound.capture_rows = 'off'` and writes no row events.
--
-- Topics: `pg:public:{table}` for every row; bookings and their segments also
-- `pg:public:{table}:{owner}`, the only topic a passenger may join. Contact details
-- of a booking are not carried: a row event outlives an erasure's clean-up of the
-- owner's topics, and nobody's phone number should outlive the account.

-- Which tables publish row events, as Supabase's `supabase_realtime` publication does:
-- none until enabled (SKYBOUND_REALTIME_TABLES at startup, or an INSERT here), so a
-- deployment that does not use the compatible endpoint writes nothing more to the log.
CREATE TABLE realtime_tables (
    table_name text PRIMARY KEY
        CHECK (table_name IN ('flights', 'airports', 'bookings', 'booking_segments'))
);

CREATE FUNCTION row_key(p_row jsonb, p_columns text[]) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_object_agg(c, p_row -> c) FROM unnest(p_columns) AS c
$$;

-- Whose row it is: a booking's user, a segment's booking's user; NULL for public rows
-- (and for a segment whose booking went in the same statement).
CREATE FUNCTION row_owner(p_table text, p_row jsonb) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE p_table
        WHEN 'bookings' THEN p_row ->> 'user_id'
        WHEN 'booking_segments' THEN
            (SELECT user_id::text FROM bookings WHERE id = (p_row ->> 'booking_id')::uuid)
    END
$$;

-- TG_ARGV: the primary key columns, used to pair old and new rows of an UPDATE.
CREATE FUNCTION capture_row_changes() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    key_columns text[] := TG_ARGV::text[];
    hidden text[] := CASE TG_TABLE_NAME
                         WHEN 'bookings' THEN ARRAY['contact_email', 'contact_phone']
                         ELSE ARRAY[]::text[] END;
    base_topic text := 'pg:' || TG_TABLE_SCHEMA || ':' || TG_TABLE_NAME;
    changed jsonb;
    count integer;
    ids bigint[];
    horizon xid8;
BEGIN
    IF current_setting('skybound.capture_rows', true) = 'off'
       OR NOT EXISTS (SELECT 1 FROM realtime_tables WHERE table_name = TG_TABLE_NAME) THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        SELECT jsonb_agg(jsonb_build_object('record', to_jsonb(n))) INTO changed
          FROM new_rows AS n;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT jsonb_agg(jsonb_build_object('old_record', to_jsonb(o))) INTO changed
          FROM old_rows AS o;
    ELSE
        SELECT jsonb_agg(jsonb_build_object('record', to_jsonb(n), 'old_record', to_jsonb(o)))
          INTO changed
          FROM new_rows AS n
          JOIN old_rows AS o
            ON row_key(to_jsonb(n), key_columns) = row_key(to_jsonb(o), key_columns);
    END IF;
    count := coalesce(jsonb_array_length(changed), 0);
    IF count = 0 THEN
        RETURN NULL;
    END IF;
    SELECT array_agg(nextval(pg_get_serial_sequence('change_events', 'id')) ORDER BY g)
      INTO ids FROM generate_series(1, count) AS g;
    horizon := change_release_horizon();
    INSERT INTO change_events (id, event_type, entity, entity_id, topics, payload,
                               release_horizon)
    OVERRIDING SYSTEM VALUE
    SELECT ids[c.ordinality],
           'row.' || lower(TG_OP),
           'row',
           row_key(coalesce(c.value -> 'record', c.value -> 'old_record'), key_columns)::text,
           ARRAY[base_topic] || ARRAY(
               SELECT DISTINCT base_topic || ':' || owner
                 FROM unnest(ARRAY[row_owner(TG_TABLE_NAME, c.value -> 'record'),
                                   row_owner(TG_TABLE_NAME, c.value -> 'old_record')]) AS owner
                WHERE owner IS NOT NULL),
           jsonb_build_object('row',
               jsonb_build_object('schema', TG_TABLE_SCHEMA, 'table', TG_TABLE_NAME,
                                  'type', TG_OP)
               || CASE WHEN c.value ? 'record'
                       THEN jsonb_build_object('record', (c.value -> 'record') - hidden)
                       ELSE '{}' END
               || CASE WHEN c.value ? 'old_record'
                       THEN jsonb_build_object('old_record', (c.value -> 'old_record') - hidden)
                       ELSE '{}' END),
           horizon
      FROM jsonb_array_elements(changed) WITH ORDINALITY AS c;
    PERFORM pg_notify('skybound_changes', pg_current_xact_id()::text);
    RETURN NULL;
END
$$;

CREATE TRIGGER flights_rows_insert AFTER INSERT ON flights
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION capture_row_changes('id');
CREATE TRIGGER flights_rows_update AFTER UPDATE ON flights
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION capture_row_changes('id');
CREATE TRIGGER flights_rows_delete AFTER DELETE ON flights
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION capture_row_changes('id');

CREATE TRIGGER airports_rows_insert AFTER INSERT ON airports
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION capture_row_changes('iata');
CREATE TRIGGER airports_rows_update AFTER UPDATE ON airports
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION capture_row_changes('iata');
CREATE TRIGGER airports_rows_delete AFTER DELETE ON airports
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION capture_row_changes('iata');

CREATE TRIGGER bookings_rows_insert AFTER INSERT ON bookings
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION capture_row_changes('id');
CREATE TRIGGER bookings_rows_update AFTER UPDATE ON bookings
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION capture_row_changes('id');
CREATE TRIGGER bookings_rows_delete AFTER DELETE ON bookings
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION capture_row_changes('id');

CREATE TRIGGER booking_segments_rows_insert AFTER INSERT ON booking_segments
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION capture_row_changes('booking_id', 'segment_no');
CREATE TRIGGER booking_segments_rows_update AFTER UPDATE ON booking_segments
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION capture_row_changes('booking_id', 'segment_no');
CREATE TRIGGER booking_segments_rows_delete AFTER DELETE ON booking_segments
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION capture_row_changes('booking_id', 'segment_no');
