-- Comments on every table, on the columns whose meaning is not in their name alone, and
-- on the indexes the migrations explained, so that docs/schema.md (`skybound docs schema`)
-- is generated from the catalogue. A new table or column brings its own COMMENT ON.
--
-- Through a helper that skips what no longer exists: migrations written in parallel may
-- rename or drop something commented here, and a comment must not stop a deployment.
CREATE FUNCTION pg_temp.describe(p_kind text, p_name text, p_column text, p_comment text)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    target regclass := to_regclass(format('public.%I', p_name));
BEGIN
    IF target IS NULL THEN
        RETURN;
    ELSIF p_kind = 'column' THEN
        IF EXISTS (SELECT 1 FROM pg_attribute
                    WHERE attrelid = target AND attname = p_column AND NOT attisdropped) THEN
            EXECUTE format('COMMENT ON COLUMN public.%I.%I IS %L', p_name, p_column, p_comment);
        END IF;
    ELSE
        EXECUTE format('COMMENT ON %s public.%I IS %L', upper(p_kind), p_name, p_comment);
    END IF;
END
$$;

-- Tables
SELECT pg_temp.describe('table', 'admin_audit_log', NULL,
    'Who did what, when and why, through the admin API. Append-only: the database refuses to change or remove a row, whoever asks, so the API cannot offer it either.');
SELECT pg_temp.describe('table', 'aircraft_cabins', NULL,
    'One row per cabin of an aircraft type. Seat letters are written as the cabin looks from above, aisles as spaces: ''ABC DEF'' (single aisle), ''AC DFG HK''.');
SELECT pg_temp.describe('table', 'aircraft_types', NULL,
    'Aircraft types by IATA code; their cabins and seat layouts are in aircraft_cabins.');
SELECT pg_temp.describe('table', 'airframes', NULL,
    'Airframes by tail number, and which one flies each leg after which (the rotation): a late inbound aircraft delays its next departure.');
SELECT pg_temp.describe('table', 'airlines', NULL,
    'Carriers: IATA and ICAO codes, the ticket prefix of their documents, the currency they sell in, their hub airports and when their check-in opens and closes.');
SELECT pg_temp.describe('table', 'airports', NULL,
    'Airports by IATA code, with their time zone (every local time is computed from it), country and position; loaded by `skybound seed` from airportsdata.');
SELECT pg_temp.describe('table', 'app_secrets', NULL,
    'Secrets the whole fleet must share (all workers, all instances, across restarts) without an operator configuring them. gen_random_uuid() draws on the server''s strong random source; two of them give 244 random bits.');
SELECT pg_temp.describe('table', 'archived_bookings', NULL,
    'Bookings whose last flight landed long ago leave the hot tables (bookings, passengers, segments, seats, tickets, payments) for this one: the whole booking as it read when it was archived (``booking``: passengers with tickets, segments with their flights and seats, payments, trip notes), plus the columns a history page sorts and shows, so the past and cancelled views list archived bookings with live ones without reading a document.');
SELECT pg_temp.describe('table', 'auth_flow_states', NULL,
    'One sign-in through a provider, from /authorize to the client''s code exchange: GoTrue''s flow state. The browser that started it holds a cookie whose hash is `browser_hash`; the callback must come from that browser, once, before it expires. A PKCE flow then waits here (with `user_id` and the hash of the code handed to the client) until the client redeems the code with its verifier.');
SELECT pg_temp.describe('table', 'auth_identities', NULL,
    'A provider''s account linked to an auth user: GoTrue''s identities. The provider''s subject (`sub`) names it; the email is the one the provider vouched for.');
SELECT pg_temp.describe('table', 'auth_recovery_tokens', NULL,
    'Password-recovery codes of the built-in auth, stored as SHA-256 hashes, single use and short-lived.');
SELECT pg_temp.describe('table', 'auth_refresh_tokens', NULL,
    'Refresh tokens of the built-in auth, stored as SHA-256 hashes. Each is exchanged once for its successor; presenting a rotated one again is reuse and ends the session.');
SELECT pg_temp.describe('table', 'auth_sessions', NULL,
    'A sign-in. Every refresh token descends from the one issued at sign-in, so the session is the token family: revoking it ends every token in it.');
SELECT pg_temp.describe('table', 'auth_throttle', NULL,
    'Fixed-window counters for throttling (failed sign-ins per account and per IP, sign-ups and recovery requests per IP), shared by every worker and instance.');
SELECT pg_temp.describe('table', 'auth_users', NULL,
    'Accounts of the built-in auth server (GoTrue-compatible /auth/v1), unused when a Supabase project is the auth server. Passwords are argon2id hashes.');
SELECT pg_temp.describe('table', 'booking_quotes', NULL,
    'A priced proposal to change or cancel a booking. Confirming it is a single UPDATE ... WHERE confirmed_at IS NULL, so a quote is confirmed at most once; the stored result answers every later confirmation.');
SELECT pg_temp.describe('table', 'booking_segments', NULL,
    'The legs of a booking, in travel order.');
SELECT pg_temp.describe('table', 'bookings', NULL,
    'Bookings: record locator, owner, contact, status, total and the fare sold; their passengers, segments, seats, tickets and payments hang off this row.');
SELECT pg_temp.describe('table', 'change_events', NULL,
    'Append-only record of meaningful changes, filled by capture triggers (the realtime pipeline) and read by stream resume and offline sync. xact_id is the writing transaction''s id: readers only hand out events of transactions older than the snapshot''s xmin, so an event committed late under a smaller id is never skipped (see docs/realtime.md).');
SELECT pg_temp.describe('table', 'change_log_state', NULL,
    'One row: the log''s epoch (a restored or recreated database gets a new one, so clients holding old positions re-snapshot) and how far retention purged.');
SELECT pg_temp.describe('table', 'check_in_sequences', NULL,
    'The last check-in sequence number handed out per flight. The upsert that takes the next one locks the flight''s row, so concurrent check-ins queue for a number and never share one; the unique key below holds whatever the writer.');
SELECT pg_temp.describe('table', 'check_ins', NULL,
    'One row per passenger and flight. An undone check-in keeps its row (status ''undone''), so a device hears that its boarding pass is gone and versions only grow; checking in again takes a new sequence number, as a departure control system does.');
SELECT pg_temp.describe('table', 'codeshares', NULL,
    'Codeshares: a leg one carrier operates, also sold under a partner''s code and number (KA7001 operated by Skybound Airways). Boards list the codes; an itinerary sold by the partner shows its segment under the partner''s code, "operated by" the operator.');
SELECT pg_temp.describe('table', 'emds', NULL,
    'Electronic miscellaneous documents: paid extras (a seat, a bag) issued as their own documents with their own numbers.');
SELECT pg_temp.describe('table', 'exchange_rates', NULL,
    'Reference rates for pricing itineraries that mix carriers'' currencies. units_per_usd: how many major units of the currency one US dollar buys.');
SELECT pg_temp.describe('table', 'fare_brands', NULL,
    'Fare brands: what a cabin''s fare includes and how it may be changed or refunded.');
SELECT pg_temp.describe('table', 'flight_cabins', NULL,
    'Fares and seat inventory per cabin of a leg.');
SELECT pg_temp.describe('table', 'flight_notice_windows', NULL,
    'The open coalescing window of each flight and kind of news: every update inside it joins the one message per recipient that the window''s first update queued, and that message is due when the window ends (it is rendered then, with the flight as it is by that time, so five delays send the latest time once).');
SELECT pg_temp.describe('table', 'flight_rotations', NULL,
    'Which leg an airframe flies after which: a late inbound aircraft delays its next departure.');
SELECT pg_temp.describe('table', 'flights', NULL,
    'Scheduled legs: one row per flight number, origin and local service date, with times (scheduled, estimated, actual), terminals, gates, baggage belt, status and the version every change raises.');
SELECT pg_temp.describe('table', 'idempotency_keys', NULL,
    'One row per (user, operation, Idempotency-Key). The row is inserted first in the request''s own transaction, so a racing retry blocks on the primary key until the first attempt commits (then replays its response) or rolls back (then runs itself). A failed attempt leaves no row behind.');
SELECT pg_temp.describe('table', 'mail_campaigns', NULL,
    'A promotional campaign: its content per language (subject, html and text, each a sandboxed template; English is the fallback) and its audience. Only users whose marketing consent is on receive it, each at most once (the outbox key is the campaign and the user), and consent is checked again when each message is sent.');
SELECT pg_temp.describe('table', 'mail_outbox', NULL,
    'Outgoing mail goes through an outbox: a request writes its message in the same transaction as the state it reports (a recovery token), and a background sender in every worker delivers it. So /auth/v1/recover answers without waiting on SMTP, and its timing no longer tells whether an account exists.');
SELECT pg_temp.describe('table', 'mail_settings', NULL,
    'Knobs the database''s own writers need (the flight trigger below runs for psql and the simulator too); each process writes its settings here when it starts.');
SELECT pg_temp.describe('table', 'mail_undeliverable', NULL,
    'Addresses a mail server refused for good (a 5xx answer): nothing more is sent to them. A recipient who changes their address gets mail at the new one; an address is unmarked by deleting its row (an operator who knows it works again).');
SELECT pg_temp.describe('table', 'minimum_connection_times', NULL,
    'Minimum connection times per airport, as airlines publish them: by the status of the arriving and the departing leg at the connecting airport. ''D'' is domestic (the leg''s other end is in the same country, or both ends are in the Schengen area, where there is no passport control between them); ''I'' is international. Airports without rows use the configured defaults. Reference data: rows for airports not loaded are harmless.');
SELECT pg_temp.describe('table', 'notifications', NULL,
    'A user''s in-app notifications (flight and booking news), synced to devices and marked read there.');
SELECT pg_temp.describe('table', 'passengers', NULL,
    'The passengers of a booking, numbered from 1 in booking order; a lap infant names its adult.');
SELECT pg_temp.describe('table', 'payment_methods', NULL,
    'Cards a user saved for later bookings: brand, last four digits and expiry in clear; number and holder name sealed with AES-256-GCM. The CVC is never stored.');
SELECT pg_temp.describe('table', 'payments', NULL,
    'Charges and refunds of a booking through the payment provider, with the provider''s reference and the card''s brand and last four digits.');
SELECT pg_temp.describe('table', 'profiles', NULL,
    'A traveller''s profile, keyed by the auth user''s UUID (Supabase auth.users.id or the built-in auth): contact details, date of birth, nationality and loyalty numbers.');
SELECT pg_temp.describe('table', 'realtime_tables', NULL,
    'Which tables publish row events, as Supabase''s `supabase_realtime` publication does: none until enabled (SKYBOUND_REALTIME_TABLES at startup, or an INSERT here), so a deployment that does not use the compatible endpoint writes nothing more to the log.');
SELECT pg_temp.describe('table', 'schedule_imports', NULL,
    'Schedule imports uploaded over HTTP: a queue of jobs that any worker of the fleet may run (one at a time), with their progress and outcome for whoever polls.');
SELECT pg_temp.describe('table', 'scheduled_jobs', NULL,
    'A job runs once its due time has come, claimed by any worker of any instance with FOR UPDATE SKIP LOCKED; its effects (the mail it queues) and done_at commit in one transaction, so it runs exactly once. A job tied to a flight is due `lead` before its (estimated) departure, and moves with it.');
SELECT pg_temp.describe('table', 'schema_migrations', NULL,
    'The migrations applied to this database, by version, with the checksum of each file (an edited migration is refused).');
SELECT pg_temp.describe('table', 'seat_assignments', NULL,
    'The seat map''s source of truth: one row per occupied seat of a leg. The primary key is what makes a double-booked seat impossible.');
SELECT pg_temp.describe('table', 'seat_holds', NULL,
    'A seat held for a user while they book. A hold is live until expires_at; readers treat an expired hold as free whether or not the reaper has deleted it yet, so expiry never waits on a background task.');
SELECT pg_temp.describe('table', 'simulated_provider_ledger', NULL,
    'SIMULATED: the ledger of the built-in "simulated" payment provider, which moves no money. It stands in for a real provider''s records, so it is written outside the booking''s transaction, as a real provider''s would be, and tests read it to prove that a failed booking left no charge behind.');
SELECT pg_temp.describe('table', 'stream_tickets', NULL,
    'Stream tickets: short-lived, single-use credentials for clients that cannot send headers (EventSource), so long-lived tokens never travel in URLs. Only a hash of the ticket is stored; redeeming marks it used in the same row.');
SELECT pg_temp.describe('table', 'sync_clients', NULL,
    'A device (client id, chosen by the device, unique per install) and the last of its mutations processed. Mutation ids only increase; a push repeating an id at or below this one is a retry, answered from sync_mutations.');
SELECT pg_temp.describe('table', 'sync_mutations', NULL,
    'The outcome of each processed mutation (the latest 1,000 per client), so a retried push reports what happened the first time. ''pending'': a booking command whose quote is being confirmed; a retry confirms the same quote. event_id: the newest change event the mutation wrote, so a pull reports a mutation as processed only once its effect is within the pulled range.');
SELECT pg_temp.describe('table', 'tax_rules', NULL,
    'Taxes, fees and carrier surcharges added to base fares, as reference data (loaded by `skybound seed`, with the airports they name). Each rule is levied per passenger on a leg: on its departure from a country or airport, or on its arrival in a country from abroad; carrier surcharges (YQ, YR) on the legs a carrier flies. Amounts are fixed in their own currency, or a share of the leg''s base fare (the US transportation tax).');
SELECT pg_temp.describe('table', 'ticket_coupons', NULL,
    'The flight coupons of a ticket, one per passenger and segment, with their status through check-in and boarding.');
SELECT pg_temp.describe('table', 'tickets', NULL,
    'One e-ticket per passenger of a booking: the 13-digit number (the airline''s prefix then a serial) and its stored receipt.');
SELECT pg_temp.describe('table', 'token_revocations', NULL,
    'Ending an account (GDPR erasure) must also end the tokens it was given. Access tokens are JWTs that every worker verifies locally, so a worker has to be told: a token of this user issued at or before the second of revoked_at no longer counts. Kept per user, not per token, and for users of Supabase Auth too (whose accounts Skybound cannot delete), so no user id here references auth_users.');
SELECT pg_temp.describe('table', 'travel_documents', NULL,
    'A passenger''s travel document (the APIS data of an international flight). Type and expiry stay in clear, to tell whether the document still covers a trip; number, nationality, date of birth and gender are AES-256-GCM sealed, bound to the passenger.');
SELECT pg_temp.describe('table', 'travelers', NULL,
    'Ids are chosen by the client (a device creates travellers offline); they are unique per user, so one user''s ids say nothing about another''s.');
SELECT pg_temp.describe('table', 'trip_notes', NULL,
    'Notes a user keeps on a booking; synced offline like travellers, field by field.');
SELECT pg_temp.describe('table', 'user_bans', NULL,
    'A ban keeps a user out until a time: every token of theirs is refused while it lasts, also tokens an outside auth server (Supabase) issues meanwhile. Kept with the user''s standing (roles, revocation), so the same notification makes every worker forget it.');
SELECT pg_temp.describe('table', 'user_preferences', NULL,
    'A user''s settings: seat and meal preferences, language, notification channels and marketing consent (with when it was given or withdrawn).');
SELECT pg_temp.describe('table', 'user_roles', NULL,
    'Roles granted by admins, on top of those in the token''s app_metadata.roles. Every signed-in user is a passenger; agent, ops and admin are granted here.');

-- Columns
SELECT pg_temp.describe('column', 'admin_audit_log', 'action',
    'What was done (flight.delay, user.ban, ...).');
SELECT pg_temp.describe('column', 'admin_audit_log', 'actor',
    'The staff user who acted.');
SELECT pg_temp.describe('column', 'admin_audit_log', 'actor_roles',
    'The roles the actor held at the time.');
SELECT pg_temp.describe('column', 'admin_audit_log', 'at',
    'When the action happened.');
SELECT pg_temp.describe('column', 'admin_audit_log', 'batch',
    'One bulk action writes one row per thing it changed, all with the same batch.');
SELECT pg_temp.describe('column', 'admin_audit_log', 'changes',
    'What changed: {"field": [old, new]}, or what was done ({"sessions_revoked": 2}).');
SELECT pg_temp.describe('column', 'admin_audit_log', 'entity',
    'Kind of thing acted on (flight, user, booking).');
SELECT pg_temp.describe('column', 'admin_audit_log', 'entity_id',
    'Id of the thing acted on.');
SELECT pg_temp.describe('column', 'admin_audit_log', 'reason',
    'The reason the actor gave.');
SELECT pg_temp.describe('column', 'admin_audit_log', 'request_id',
    'The HTTP request that did it (X-Request-ID), to find it in the logs.');
SELECT pg_temp.describe('column', 'aircraft_cabins', 'exit_rows',
    'Rows at an emergency exit: not for children or adults holding an infant.');
SELECT pg_temp.describe('column', 'aircraft_cabins', 'extra_legroom_rows',
    'Rows with extra legroom (priced higher on the seat map).');
SELECT pg_temp.describe('column', 'aircraft_cabins', 'first_row',
    'First row number of the cabin.');
SELECT pg_temp.describe('column', 'aircraft_cabins', 'last_row',
    'Last row number of the cabin.');
SELECT pg_temp.describe('column', 'aircraft_cabins', 'seat_letters',
    'Seat letters of a row as seen from above, aisles as spaces (''ABC DEF'').');
SELECT pg_temp.describe('column', 'aircraft_cabins', 'seats',
    'Seats in the cabin: rows times letters.');
SELECT pg_temp.describe('column', 'aircraft_types', 'code',
    'IATA type, e.g. 32N');
SELECT pg_temp.describe('column', 'aircraft_types', 'cruise_kmh',
    'Cruise speed: the generated schedule''s block times come from it.');
SELECT pg_temp.describe('column', 'aircraft_types', 'icao',
    'ICAO type, e.g. A20N');
SELECT pg_temp.describe('column', 'aircraft_types', 'range_km',
    'Range: the generated schedule only gives a type the routes it can fly.');
SELECT pg_temp.describe('column', 'airframes', 'aircraft_type',
    'Its aircraft type.');
SELECT pg_temp.describe('column', 'airframes', 'carrier',
    'The carrier operating it.');
SELECT pg_temp.describe('column', 'airframes', 'serial',
    'Number of the airframe within the carrier''s fleet.');
SELECT pg_temp.describe('column', 'airframes', 'tail_number',
    'Registration of the aircraft.');
SELECT pg_temp.describe('column', 'airlines', 'check_in_closes_domestic_minutes',
    'Check-in closes this many minutes before a domestic departure.');
SELECT pg_temp.describe('column', 'airlines', 'check_in_closes_minutes',
    'Check-in closes this many minutes before an international departure.');
SELECT pg_temp.describe('column', 'airlines', 'check_in_opens_hours',
    'Online check-in opens this many hours before scheduled departure.');
SELECT pg_temp.describe('column', 'airlines', 'code',
    'IATA carrier code (SB).');
SELECT pg_temp.describe('column', 'airlines', 'country',
    'ISO 3166-1 alpha-2 country of the carrier.');
SELECT pg_temp.describe('column', 'airlines', 'currency',
    'ISO 4217 currency the carrier sells in.');
SELECT pg_temp.describe('column', 'airlines', 'hubs',
    'The carrier''s hub airports (IATA codes): the generated schedule radiates from them.');
SELECT pg_temp.describe('column', 'airlines', 'icao',
    'ICAO carrier code.');
SELECT pg_temp.describe('column', 'airlines', 'ticket_prefix',
    'IATA airline accounting code: the first three digits of every ticket number.');
SELECT pg_temp.describe('column', 'airports', 'country',
    'ISO 3166-1 alpha-2 country: decides domestic or international (check-in, connections, taxes).');
SELECT pg_temp.describe('column', 'airports', 'elevation_ft',
    'Elevation in feet, when known.');
SELECT pg_temp.describe('column', 'airports', 'iata',
    'IATA code: the key every flight and search uses.');
SELECT pg_temp.describe('column', 'airports', 'icao',
    'ICAO code, when the airport has one.');
SELECT pg_temp.describe('column', 'airports', 'is_hub',
    'A hub of some carrier: size class drives the generated schedule and ranks airport search results.');
SELECT pg_temp.describe('column', 'airports', 'latitude',
    'Degrees north: distances (connections, taxes by distance, block times) come from the position.');
SELECT pg_temp.describe('column', 'airports', 'longitude',
    'Degrees east.');
SELECT pg_temp.describe('column', 'airports', 'subdivision',
    'State or region, when known.');
SELECT pg_temp.describe('column', 'airports', 'time_zone',
    'IANA time zone: every local time at the airport, and a leg''s service date, come from it.');
SELECT pg_temp.describe('column', 'app_secrets', 'created_at',
    'When the row was written.');
SELECT pg_temp.describe('column', 'app_secrets', 'name',
    'What the secret is for (jwt_secret, offer_signing, sync_cursor, ...).');
SELECT pg_temp.describe('column', 'app_secrets', 'secret',
    'The secret, made by the database at first use. Deleting the row rotates it (at the next start).');
SELECT pg_temp.describe('column', 'archived_bookings', 'archived_at',
    'When the booking left the hot tables.');
SELECT pg_temp.describe('column', 'archived_bookings', 'booking',
    'The whole booking as the API showed it when it was archived.');
SELECT pg_temp.describe('column', 'archived_bookings', 'created_at',
    'When the row was written.');
SELECT pg_temp.describe('column', 'archived_bookings', 'destination',
    'Destination of the last flight (IATA).');
SELECT pg_temp.describe('column', 'archived_bookings', 'destination_tz',
    'Time zone of the destination.');
SELECT pg_temp.describe('column', 'archived_bookings', 'document_keys',
    'Stored ticket receipts stay in the file storage; erasure deletes them.');
SELECT pg_temp.describe('column', 'archived_bookings', 'first_departure',
    'Departure of the first flight.');
SELECT pg_temp.describe('column', 'archived_bookings', 'last_arrival',
    'Arrival of the last flight: a booking is archived some time after it.');
SELECT pg_temp.describe('column', 'archived_bookings', 'origin',
    'Origin of the first flight (IATA), for searching the archive.');
SELECT pg_temp.describe('column', 'archived_bookings', 'origin_tz',
    'Time zone of the origin, to show local times without the airport row.');
SELECT pg_temp.describe('column', 'archived_bookings', 'passengers',
    'Number of passengers.');
SELECT pg_temp.describe('column', 'auth_flow_states', 'auth_code_expires_at',
    'The code is refused after this.');
SELECT pg_temp.describe('column', 'auth_flow_states', 'auth_code_hash',
    'SHA-256 of the code a PKCE client redeems at the token endpoint.');
SELECT pg_temp.describe('column', 'auth_flow_states', 'browser_hash',
    'SHA-256 of the cookie value the browser that started the flow holds.');
SELECT pg_temp.describe('column', 'auth_flow_states', 'callback_at',
    'When the provider''s callback used the flow (at most once).');
SELECT pg_temp.describe('column', 'auth_flow_states', 'callback_url',
    'The redirect URI sent to the provider (it must be sent again with the code).');
SELECT pg_temp.describe('column', 'auth_flow_states', 'code_challenge',
    'PKCE between the client and Skybound; NULL for the implicit flow.');
SELECT pg_temp.describe('column', 'auth_flow_states', 'code_challenge_method',
    's256 or plain, with code_challenge.');
SELECT pg_temp.describe('column', 'auth_flow_states', 'created_at',
    'When the row was written.');
SELECT pg_temp.describe('column', 'auth_flow_states', 'expires_at',
    'The flow is refused after this (5 minutes).');
SELECT pg_temp.describe('column', 'auth_flow_states', 'nonce',
    'The OpenID Connect nonce the ID token must carry.');
SELECT pg_temp.describe('column', 'auth_flow_states', 'provider',
    'The identity provider (google).');
SELECT pg_temp.describe('column', 'auth_flow_states', 'provider_verifier',
    'PKCE between Skybound and the provider: secret, and short-lived like the row.');
SELECT pg_temp.describe('column', 'auth_flow_states', 'redirect_to',
    'Where the browser goes when the flow ends (already checked against the allowed URLs).');
SELECT pg_temp.describe('column', 'auth_flow_states', 'user_id',
    'The user the flow signed in.');
SELECT pg_temp.describe('column', 'auth_identities', 'created_at',
    'When the row was written.');
SELECT pg_temp.describe('column', 'auth_identities', 'email',
    'The email the provider vouched for.');
SELECT pg_temp.describe('column', 'auth_identities', 'identity_data',
    'The claims the provider sent (name, picture, ...).');
SELECT pg_temp.describe('column', 'auth_identities', 'last_sign_in_at',
    'Last sign-in through this identity.');
SELECT pg_temp.describe('column', 'auth_identities', 'provider',
    'The provider (email, google).');
SELECT pg_temp.describe('column', 'auth_identities', 'provider_id',
    'The provider''s subject (sub) for the user.');
SELECT pg_temp.describe('column', 'auth_identities', 'updated_at',
    'When the row last changed.');
SELECT pg_temp.describe('column', 'auth_recovery_tokens', 'created_at',
    'When the row was written.');
SELECT pg_temp.describe('column', 'auth_recovery_tokens', 'expires_at',
    'The code is refused after this.');
SELECT pg_temp.describe('column', 'auth_recovery_tokens', 'token_hash',
    'SHA-256 of the recovery code.');
SELECT pg_temp.describe('column', 'auth_recovery_tokens', 'used_at',
    'When the code was used (single use).');
SELECT pg_temp.describe('column', 'auth_refresh_tokens', 'created_at',
    'When the row was written.');
SELECT pg_temp.describe('column', 'auth_refresh_tokens', 'parent_id',
    'The token it replaced; NULL for the first of a session.');
SELECT pg_temp.describe('column', 'auth_refresh_tokens', 'rotated_at',
    'Set when the token is exchanged for its successor: presenting it again is reuse.');
SELECT pg_temp.describe('column', 'auth_refresh_tokens', 'session_id',
    'The session (token family) it belongs to.');
SELECT pg_temp.describe('column', 'auth_refresh_tokens', 'token_hash',
    'SHA-256 of the refresh token: the token itself is never stored.');
SELECT pg_temp.describe('column', 'auth_sessions', 'created_at',
    'When the row was written.');
SELECT pg_temp.describe('column', 'auth_sessions', 'method',
    'How the user proved who they are: GoTrue''s amr method (password, recovery).');
SELECT pg_temp.describe('column', 'auth_sessions', 'not_after',
    'The session ends then, whatever happens (SKYBOUND_AUTH_REFRESH_TOKEN_DAYS after sign-in).');
SELECT pg_temp.describe('column', 'auth_sessions', 'refreshed_at',
    'When the session''s token was last refreshed.');
SELECT pg_temp.describe('column', 'auth_sessions', 'revoked_at',
    'When the session was ended.');
SELECT pg_temp.describe('column', 'auth_sessions', 'revoked_reason',
    'Why: sign-out, refresh-token reuse, an admin, ...');
SELECT pg_temp.describe('column', 'auth_throttle', 'bucket',
    'What is counted: the kind of attempt and the account or address.');
SELECT pg_temp.describe('column', 'auth_throttle', 'hits',
    'Attempts in the window.');
SELECT pg_temp.describe('column', 'auth_throttle', 'window_started_at',
    'Start of the current fixed window.');
SELECT pg_temp.describe('column', 'auth_users', 'app_metadata',
    'Set by operators only (e.g. {"roles": ["ops"]}); users cannot change it.');
SELECT pg_temp.describe('column', 'auth_users', 'banned_until',
    'Sign-in and refresh are refused until then.');
SELECT pg_temp.describe('column', 'auth_users', 'created_at',
    'When the row was written.');
SELECT pg_temp.describe('column', 'auth_users', 'email',
    'The sign-in address, unique case-insensitively.');
SELECT pg_temp.describe('column', 'auth_users', 'email_confirmed_at',
    'Sign-up confirms at once (no confirmation email); kept for GoTrue''s user shape.');
SELECT pg_temp.describe('column', 'auth_users', 'encrypted_password',
    'argon2id hash of the password (GoTrue''s column name); NULL for accounts without one.');
SELECT pg_temp.describe('column', 'auth_users', 'last_sign_in_at',
    'Last sign-in, any method.');
SELECT pg_temp.describe('column', 'auth_users', 'recovery_sent_at',
    'When the last recovery code was sent.');
SELECT pg_temp.describe('column', 'auth_users', 'updated_at',
    'When the row last changed.');
SELECT pg_temp.describe('column', 'auth_users', 'user_metadata',
    'What the user may set about themselves (name, ...), as in GoTrue.');
SELECT pg_temp.describe('column', 'booking_quotes', 'amount_minor',
    'Positive: the traveller pays; negative: the traveller is refunded.');
SELECT pg_temp.describe('column', 'booking_quotes', 'booking_version',
    'The booking''s version the quote was priced on: confirming it after another change is refused.');
SELECT pg_temp.describe('column', 'booking_quotes', 'confirmed_at',
    'When the quote was confirmed (at most once).');
SELECT pg_temp.describe('column', 'booking_quotes', 'created_at',
    'When the row was written.');
SELECT pg_temp.describe('column', 'booking_quotes', 'details',
    'What the quote prices: the change asked for, and the breakdown of fees and refunds.');
SELECT pg_temp.describe('column', 'booking_quotes', 'kind',
    'change or cancellation.');
SELECT pg_temp.describe('column', 'booking_quotes', 'result',
    'The outcome of the confirmation, answered to every later confirmation of the quote.');
SELECT pg_temp.describe('column', 'booking_segments', 'booking_class',
    'The one-letter booking class of the fare.');
SELECT pg_temp.describe('column', 'booking_segments', 'fare_basis',
    'The fare basis code printed on the ticket.');
SELECT pg_temp.describe('column', 'booking_segments', 'fare_brand',
    'The fare brand sold on this leg (fare_brands.code).');
SELECT pg_temp.describe('column', 'booking_segments', 'segment_no',
    '1-based position of the leg in travel order.');
SELECT pg_temp.describe('column', 'booking_segments', 'slice_no',
    'Which direction of travel (slice) of the itinerary the leg belongs to.');
SELECT pg_temp.describe('column', 'bookings', 'cancellation_reason',
    'Why it was cancelled.');
SELECT pg_temp.describe('column', 'bookings', 'cancelled_at',
    'When the booking was cancelled; set exactly when status is cancelled.');
SELECT pg_temp.describe('column', 'bookings', 'contact_email',
    'Where booking mail goes.');
SELECT pg_temp.describe('column', 'bookings', 'created_at',
    'When the row was written.');
SELECT pg_temp.describe('column', 'bookings', 'fare',
    'What the booking was sold at: brand, unit prices per passenger type, and the fare rules (change and cancellation fees, refundability) that later quotes apply. Kept on the booking because brands and fares change after the sale.');
SELECT pg_temp.describe('column', 'bookings', 'record_locator',
    'Six-character booking reference (PNR) the traveller quotes.');
SELECT pg_temp.describe('column', 'bookings', 'status',
    'confirmed or cancelled.');
SELECT pg_temp.describe('column', 'bookings', 'total_minor',
    'Everything charged for the booking at purchase, in minor units.');
SELECT pg_temp.describe('column', 'bookings', 'updated_at',
    'When the row last changed.');
SELECT pg_temp.describe('column', 'bookings', 'user_id',
    'The owner; NULL once the owner''s account is erased (the booking stays for accounting).');
SELECT pg_temp.describe('column', 'bookings', 'version',
    'Raised by one on every update (a trigger): events and sync carry it, and clients keep the newest.');
SELECT pg_temp.describe('column', 'change_events', 'created_at',
    'When the row was written.');
SELECT pg_temp.describe('column', 'change_events', 'entity',
    'Kind of thing that changed (flight, booking, seats...).');
SELECT pg_temp.describe('column', 'change_events', 'entity_id',
    'Id of the thing that changed.');
SELECT pg_temp.describe('column', 'change_events', 'entity_version',
    'The thing''s version after the change: clients keep the newest.');
SELECT pg_temp.describe('column', 'change_events', 'event_type',
    'What happened (flight.gate_changed, booking.created...): the SSE event name.');
SELECT pg_temp.describe('column', 'change_events', 'id',
    'Position in the change log: streams resume from it (Last-Event-ID), sync cursors hold it.');
SELECT pg_temp.describe('column', 'change_events', 'payload',
    'The event''s data, as streams send it.');
SELECT pg_temp.describe('column', 'change_events', 'release_horizon',
    'Oldest transaction still running when the event was written: the event is released once the log''s horizon passes it.');
SELECT pg_temp.describe('column', 'change_events', 'topics',
    'Stream topics that carry the event (board:JFK:departures, flight:42, user:<uuid>).');
SELECT pg_temp.describe('column', 'change_events', 'xact_id',
    'The writing transaction''s id: events are released only once every older transaction has ended.');
SELECT pg_temp.describe('column', 'change_log_state', 'epoch',
    'The log''s life: a restored or recreated database gets a new one, and positions of another epoch get a reset and a snapshot.');
SELECT pg_temp.describe('column', 'change_log_state', 'purged_through',
    'Highest event id removed by retention: older positions cannot be resumed.');
SELECT pg_temp.describe('column', 'change_log_state', 'singleton',
    'Always true: the table has one row.');
SELECT pg_temp.describe('column', 'check_in_sequences', 'last_sequence',
    'The last check-in sequence number given on the flight.');
SELECT pg_temp.describe('column', 'check_ins', 'checked_in_by',
    'The user who checked the passenger in (the owner, an agent or an admin).');
SELECT pg_temp.describe('column', 'check_ins', 'seat_assigned',
    'The seat was given by check-in (none was chosen): undoing check-in frees it.');
SELECT pg_temp.describe('column', 'check_ins', 'selectee',
    'Selected for additional security screening (printed on the pass).');
SELECT pg_temp.describe('column', 'check_ins', 'sequence_no',
    'Check-in sequence number on the flight, printed on the boarding pass.');
SELECT pg_temp.describe('column', 'check_ins', 'status',
    'checked_in, or undone (the row stays so that devices hear of the undo).');
SELECT pg_temp.describe('column', 'check_ins', 'undone_at',
    'When check-in was undone.');
SELECT pg_temp.describe('column', 'check_ins', 'updated_at',
    'When the row last changed.');
SELECT pg_temp.describe('column', 'check_ins', 'version',
    'Raised by one on every update (a trigger): events and sync carry it, and clients keep the newest.');
SELECT pg_temp.describe('column', 'codeshares', 'marketing_carrier',
    'The partner selling the leg under its own code.');
SELECT pg_temp.describe('column', 'codeshares', 'marketing_number',
    'The partner''s flight number for the leg.');
SELECT pg_temp.describe('column', 'emds', 'description',
    'What was sold, as printed (Seat 12A SB101).');
SELECT pg_temp.describe('column', 'emds', 'emd_number',
    '13-digit document number: the carrier''s prefix and a serial from the EMD range.');
SELECT pg_temp.describe('column', 'emds', 'issued_at',
    'When the EMD was issued.');
SELECT pg_temp.describe('column', 'emds', 'rfic',
    'Reason for issuance: C (baggage), A (air transportation, with the sub code 0B5 for a seat assignment, as ATPCO codes it).');
SELECT pg_temp.describe('column', 'emds', 'rfisc',
    'Reason for issuance sub code (0B5: seat assignment).');
SELECT pg_temp.describe('column', 'emds', 'seat',
    'The seat sold, for a seat EMD.');
SELECT pg_temp.describe('column', 'emds', 'status',
    'open -> used (the flight left with the passenger aboard); or refunded, void, exchanged (the seat changed to another paid seat).');
SELECT pg_temp.describe('column', 'exchange_rates', 'currency',
    'ISO 4217 code.');
SELECT pg_temp.describe('column', 'exchange_rates', 'minor_digits',
    'Minor-unit digits of the currency (2 for USD, 0 for JPY, 3 for KWD).');
SELECT pg_temp.describe('column', 'exchange_rates', 'units_per_usd',
    'Major units of the currency one US dollar buys.');
SELECT pg_temp.describe('column', 'exchange_rates', 'updated_at',
    'When the row last changed.');
SELECT pg_temp.describe('column', 'fare_brands', 'cancellation_fee_minor',
    'Fee per passenger for a refundable cancellation.');
SELECT pg_temp.describe('column', 'fare_brands', 'change_fee_minor',
    'Fee per passenger for a change, in the fare''s currency.');
SELECT pg_temp.describe('column', 'fare_brands', 'changeable',
    'The booking may move to other flights (for the change fee and any fare difference).');
SELECT pg_temp.describe('column', 'fare_brands', 'checked_bags',
    'Checked bags included per passenger.');
SELECT pg_temp.describe('column', 'fare_brands', 'child_pct',
    'A child''s fare as a percentage of the adult''s.');
SELECT pg_temp.describe('column', 'fare_brands', 'code',
    'Brand code: carrier, cabin and name (SB_ECO_FLEX).');
SELECT pg_temp.describe('column', 'fare_brands', 'infant_pct',
    'A lap infant''s fare as a percentage of the adult''s.');
SELECT pg_temp.describe('column', 'fare_brands', 'price_pct',
    'Price of this brand as a percentage of the cabin''s base fare.');
SELECT pg_temp.describe('column', 'fare_brands', 'refundable',
    'Cancelling refunds the fare (less the cancellation fee).');
SELECT pg_temp.describe('column', 'flight_cabins', 'base_fare_minor',
    'Adult base fare; fare brands price themselves as a percentage of it.');
SELECT pg_temp.describe('column', 'flight_cabins', 'cabin',
    'first, business, premium_economy or economy.');
SELECT pg_temp.describe('column', 'flight_cabins', 'capacity',
    'Seats for sale in the cabin.');
SELECT pg_temp.describe('column', 'flight_cabins', 'currency',
    'ISO 4217 currency of the base fare.');
SELECT pg_temp.describe('column', 'flight_cabins', 'seats_sold',
    'Seats sold; CHECK (seats_sold BETWEEN 0 AND capacity) refuses an oversell whoever writes.');
SELECT pg_temp.describe('column', 'flight_cabins', 'updated_at',
    'When the row last changed.');
SELECT pg_temp.describe('column', 'flight_cabins', 'version',
    'Raised by one on every update (a trigger): events and sync carry it, and clients keep the newest.');
SELECT pg_temp.describe('column', 'flight_notice_windows', 'kind',
    'The kind of news the window gathers (delay, gate, ...).');
SELECT pg_temp.describe('column', 'flight_notice_windows', 'opened_at',
    'When the window''s first update arrived.');
SELECT pg_temp.describe('column', 'flight_rotations', 'flight_id',
    'A leg.');
SELECT pg_temp.describe('column', 'flight_rotations', 'previous_flight_id',
    'The leg the same airframe flies just before (its inbound); NULL for the first of a day.');
SELECT pg_temp.describe('column', 'flight_rotations', 'tail_number',
    'The airframe flying it.');
SELECT pg_temp.describe('column', 'flights', 'actual_landing',
    'Wheels-on instant.');
SELECT pg_temp.describe('column', 'flights', 'actual_takeoff',
    'Wheels-off instant.');
SELECT pg_temp.describe('column', 'flights', 'aircraft_type',
    'Aircraft type flying the leg: its cabins give the seat map.');
SELECT pg_temp.describe('column', 'flights', 'arrival_gate',
    'Arrival gate (stand).');
SELECT pg_temp.describe('column', 'flights', 'arrival_terminal',
    'Arrival terminal.');
SELECT pg_temp.describe('column', 'flights', 'baggage_belt',
    'Baggage reclaim belt at the destination.');
SELECT pg_temp.describe('column', 'flights', 'carrier',
    'Operating carrier (IATA code).');
SELECT pg_temp.describe('column', 'flights', 'departure_gate',
    'Departure gate: a change is a flight.gate_changed event.');
SELECT pg_temp.describe('column', 'flights', 'departure_terminal',
    'Departure terminal, shown on boards and boarding passes.');
SELECT pg_temp.describe('column', 'flights', 'estimated_arrival',
    'Latest estimate of arrival.');
SELECT pg_temp.describe('column', 'flights', 'estimated_departure',
    'Latest estimate of departure (a delay sets it).');
SELECT pg_temp.describe('column', 'flights', 'flight_number',
    'Flight number (1-9999) of the operating carrier.');
SELECT pg_temp.describe('column', 'flights', 'id',
    'The leg''s id, used by every API, stream topic (flight:{id}) and booking.');
SELECT pg_temp.describe('column', 'flights', 'scheduled_arrival',
    'Scheduled arrival (on-block) instant.');
SELECT pg_temp.describe('column', 'flights', 'scheduled_departure',
    'Scheduled departure (off-block) instant.');
SELECT pg_temp.describe('column', 'flights', 'service_date',
    'Local date of departure at the origin: the "date of operation" of the leg.');
SELECT pg_temp.describe('column', 'flights', 'status',
    'scheduled, boarding, departed, landed, arrived, cancelled or diverted: where the leg is in its day.');
SELECT pg_temp.describe('column', 'flights', 'updated_at',
    'When the row last changed.');
SELECT pg_temp.describe('column', 'flights', 'version',
    'Raised by one on every update (a trigger): events and sync carry it, and clients keep the newest.');
SELECT pg_temp.describe('column', 'idempotency_keys', 'created_at',
    'When the row was written.');
SELECT pg_temp.describe('column', 'idempotency_keys', 'operation',
    'The operation the key is for: a key is unique per user and operation.');
SELECT pg_temp.describe('column', 'idempotency_keys', 'request_hash',
    'Hash of the request body: the same key with another body is refused.');
SELECT pg_temp.describe('column', 'idempotency_keys', 'response',
    'The stored answer, replayed to a retry.');
SELECT pg_temp.describe('column', 'idempotency_keys', 'response_status',
    'Status of the stored answer, replayed to a retry.');
SELECT pg_temp.describe('column', 'mail_campaigns', 'content',
    'Subject, HTML and text per language (sandboxed templates; English is the fallback).');
SELECT pg_temp.describe('column', 'mail_campaigns', 'created_at',
    'When the row was written.');
SELECT pg_temp.describe('column', 'mail_campaigns', 'created_by',
    'The admin who created it.');
SELECT pg_temp.describe('column', 'mail_campaigns', 'home_airport',
    'Users who have booked a flight from this airport, or on this route (NULL: all).');
SELECT pg_temp.describe('column', 'mail_campaigns', 'name',
    'The campaign''s name, for staff.');
SELECT pg_temp.describe('column', 'mail_campaigns', 'recipients',
    'How many messages it queued.');
SELECT pg_temp.describe('column', 'mail_campaigns', 'route_destination',
    'With route_origin: only users who booked this route.');
SELECT pg_temp.describe('column', 'mail_campaigns', 'route_origin',
    'With route_destination: only users who booked this route.');
SELECT pg_temp.describe('column', 'mail_campaigns', 'sent_at',
    'When it was sent (at most once).');
SELECT pg_temp.describe('column', 'mail_outbox', 'attempts',
    'Incremented when a sender claims the message, before it talks to SMTP.');
SELECT pg_temp.describe('column', 'mail_outbox', 'body',
    'NULL once the message is sent or given up: a body may hold a secret (a recovery code), which is kept only as long as it is needed for delivery.');
SELECT pg_temp.describe('column', 'mail_outbox', 'cause',
    'What queued it (the change event or job), for tracing.');
SELECT pg_temp.describe('column', 'mail_outbox', 'created_at',
    'When the row was written.');
SELECT pg_temp.describe('column', 'mail_outbox', 'dead_lettered_at',
    'When it was given up (too many failures, or a permanent refusal).');
SELECT pg_temp.describe('column', 'mail_outbox', 'idempotency_key',
    'One message per key (a booking''s confirmation, a campaign''s recipient): queuing it twice queues it once.');
SELECT pg_temp.describe('column', 'mail_outbox', 'language',
    'The language it is rendered in.');
SELECT pg_temp.describe('column', 'mail_outbox', 'last_error',
    'Why the last attempt failed.');
SELECT pg_temp.describe('column', 'mail_outbox', 'next_attempt_at',
    'When a sender may (next) claim it; a claim pushes it forward as a lease. NULL (and not sent): given up, after too many failures or a permanent refusal.');
SELECT pg_temp.describe('column', 'mail_outbox', 'recipient',
    'The address the message goes to.');
SELECT pg_temp.describe('column', 'mail_outbox', 'sent_at',
    'When the mail server accepted it.');
SELECT pg_temp.describe('column', 'mail_outbox', 'subject',
    'The message''s subject.');
SELECT pg_temp.describe('column', 'mail_outbox', 'template',
    'The template the message is rendered from when it is sent.');
SELECT pg_temp.describe('column', 'mail_settings', 'delay_threshold',
    'A later estimated departure is news from this much on.');
SELECT pg_temp.describe('column', 'mail_settings', 'flight_notice_window',
    'Flight updates of one kind within this long of the first are one email.');
SELECT pg_temp.describe('column', 'mail_settings', 'singleton',
    'Always true: the table has one row.');
SELECT pg_temp.describe('column', 'mail_undeliverable', 'address',
    'The refused address.');
SELECT pg_temp.describe('column', 'mail_undeliverable', 'marked_at',
    'When it was refused.');
SELECT pg_temp.describe('column', 'mail_undeliverable', 'reason',
    'The mail server''s answer.');
SELECT pg_temp.describe('column', 'minimum_connection_times', 'airport',
    'The connecting airport.');
SELECT pg_temp.describe('column', 'minimum_connection_times', 'arriving',
    'D (domestic) or I (international): the status of the arriving leg.');
SELECT pg_temp.describe('column', 'minimum_connection_times', 'departing',
    'D or I: the status of the departing leg.');
SELECT pg_temp.describe('column', 'minimum_connection_times', 'minutes',
    'The shortest connection the airport allows for that pair.');
SELECT pg_temp.describe('column', 'notifications', 'body',
    'The notification''s text.');
SELECT pg_temp.describe('column', 'notifications', 'booking_id',
    'The booking it is about, if any.');
SELECT pg_temp.describe('column', 'notifications', 'created_at',
    'When the row was written.');
SELECT pg_temp.describe('column', 'notifications', 'event_id',
    'The change event it reports.');
SELECT pg_temp.describe('column', 'notifications', 'flight_id',
    'The flight it is about, if any.');
SELECT pg_temp.describe('column', 'notifications', 'kind',
    'the type of the change event it reports');
SELECT pg_temp.describe('column', 'notifications', 'read_at',
    'When the user read it (a synced mutation sets it).');
SELECT pg_temp.describe('column', 'notifications', 'title',
    'Short text shown in the app''s list.');
SELECT pg_temp.describe('column', 'notifications', 'updated_at',
    'When the row last changed.');
SELECT pg_temp.describe('column', 'notifications', 'version',
    'Raised by one on every update (a trigger): events and sync carry it, and clients keep the newest.');
SELECT pg_temp.describe('column', 'passengers', 'accompanied_by',
    'A lap infant travels on one adult''s lap: the adult''s passenger_no, one infant per adult. It decides who may not sit in an exit row (an adult holding an infant) and whose lap the boarding documents name.');
SELECT pg_temp.describe('column', 'passengers', 'email',
    'The passenger''s own address, if given.');
SELECT pg_temp.describe('column', 'passengers', 'family_name',
    'Family name as on the travel document.');
SELECT pg_temp.describe('column', 'passengers', 'given_name',
    'Given name as on the travel document.');
SELECT pg_temp.describe('column', 'passengers', 'passenger_no',
    '1-based number of the passenger within the booking.');
SELECT pg_temp.describe('column', 'passengers', 'passenger_type',
    'adult, child or infant (on a lap), judged on the dates of travel.');
SELECT pg_temp.describe('column', 'passengers', 'phone',
    'The passenger''s own phone (E.164), if given.');
SELECT pg_temp.describe('column', 'payment_methods', 'brand',
    'Card brand (visa, mastercard, ...), from the number.');
SELECT pg_temp.describe('column', 'payment_methods', 'ciphertext',
    'The card number and holder name, sealed under key_version and bound to the owner.');
SELECT pg_temp.describe('column', 'payment_methods', 'created_at',
    'When the row was written.');
SELECT pg_temp.describe('column', 'payment_methods', 'exp_month',
    'Expiry month.');
SELECT pg_temp.describe('column', 'payment_methods', 'exp_year',
    'Expiry year.');
SELECT pg_temp.describe('column', 'payment_methods', 'key_version',
    'Which key sealed nonce and ciphertext (AES-256-GCM of the card number and holder name).');
SELECT pg_temp.describe('column', 'payment_methods', 'last4',
    'Last four digits, shown to the user.');
SELECT pg_temp.describe('column', 'payment_methods', 'nonce',
    'AES-GCM nonce of the sealed card data.');
SELECT pg_temp.describe('column', 'payments', 'card_brand',
    'Brand of the card charged or refunded.');
SELECT pg_temp.describe('column', 'payments', 'card_last4',
    'Last four digits of that card.');
SELECT pg_temp.describe('column', 'payments', 'created_at',
    'When the row was written.');
SELECT pg_temp.describe('column', 'payments', 'kind',
    'charge or refund.');
SELECT pg_temp.describe('column', 'payments', 'payment_method_id',
    'The saved card that paid, if one did.');
SELECT pg_temp.describe('column', 'payments', 'provider',
    'The payment provider (simulated).');
SELECT pg_temp.describe('column', 'payments', 'provider_ref',
    'The provider''s own reference of the charge or refund.');
SELECT pg_temp.describe('column', 'payments', 'reason',
    'Why: purchase, a change, a cancellation (with its rule).');
SELECT pg_temp.describe('column', 'payments', 'refund_of',
    'For a refund: the charge it returns money from.');
SELECT pg_temp.describe('column', 'payments', 'status',
    'pending, succeeded or failed: what the provider answered.');
SELECT pg_temp.describe('column', 'payments', 'updated_at',
    'When the row last changed.');
SELECT pg_temp.describe('column', 'profiles', 'avatar_key',
    'Storage key of the profile image, when there is one.');
SELECT pg_temp.describe('column', 'profiles', 'created_at',
    'When the row was written.');
SELECT pg_temp.describe('column', 'profiles', 'email',
    'The user''s address, copied from the auth server''s token.');
SELECT pg_temp.describe('column', 'profiles', 'erased_at',
    'When the account was erased (GDPR): the row stays, emptied of personal data.');
SELECT pg_temp.describe('column', 'profiles', 'loyalty_numbers',
    'Frequent-flyer numbers by carrier code.');
SELECT pg_temp.describe('column', 'profiles', 'nationality',
    'ISO 3166-1 alpha-2 country.');
SELECT pg_temp.describe('column', 'profiles', 'phone',
    'Phone in E.164 form.');
SELECT pg_temp.describe('column', 'profiles', 'updated_at',
    'When the row last changed.');
SELECT pg_temp.describe('column', 'profiles', 'user_id',
    'The auth user''s id (auth_users or Supabase auth.users).');
SELECT pg_temp.describe('column', 'profiles', 'version',
    'Raised by one on every update (a trigger): events and sync carry it, and clients keep the newest.');
SELECT pg_temp.describe('column', 'realtime_tables', 'table_name',
    'A table whose row changes Supabase clients receive as postgres_changes.');
SELECT pg_temp.describe('column', 'schedule_imports', 'cancel_missing',
    'Cancel legs of the file''s carriers and periods that the file no longer has.');
SELECT pg_temp.describe('column', 'schedule_imports', 'created_at',
    'When the row was written.');
SELECT pg_temp.describe('column', 'schedule_imports', 'dry_run',
    'Check and report only; apply nothing.');
SELECT pg_temp.describe('column', 'schedule_imports', 'errors',
    'When failed: every problem, by record and SSIM field.');
SELECT pg_temp.describe('column', 'schedule_imports', 'file',
    'The uploaded file, kept until the job has finished.');
SELECT pg_temp.describe('column', 'schedule_imports', 'file_bytes',
    'Size of the uploaded file.');
SELECT pg_temp.describe('column', 'schedule_imports', 'file_name',
    'The uploaded file''s name.');
SELECT pg_temp.describe('column', 'schedule_imports', 'finished_at',
    'When it ended.');
SELECT pg_temp.describe('column', 'schedule_imports', 'legs_done',
    'Legs expanded and staged so far (progress).');
SELECT pg_temp.describe('column', 'schedule_imports', 'report',
    'When succeeded: legs inserted, updated, unchanged, missing, cancelled.');
SELECT pg_temp.describe('column', 'schedule_imports', 'requested_by',
    'The staff user who uploaded it.');
SELECT pg_temp.describe('column', 'schedule_imports', 'stage',
    'parsing, staging, checking, applying: where a running import is.');
SELECT pg_temp.describe('column', 'schedule_imports', 'started_at',
    'When a runner took the job.');
SELECT pg_temp.describe('column', 'schedule_imports', 'status',
    'queued, running, succeeded or failed.');
SELECT pg_temp.describe('column', 'scheduled_jobs', 'attempts',
    'Runs that failed so far.');
SELECT pg_temp.describe('column', 'scheduled_jobs', 'created_at',
    'When the row was written.');
SELECT pg_temp.describe('column', 'scheduled_jobs', 'done_at',
    'When it ran (exactly once).');
SELECT pg_temp.describe('column', 'scheduled_jobs', 'due_at',
    'When the job may run.');
SELECT pg_temp.describe('column', 'scheduled_jobs', 'flight_id',
    'The flight the job is tied to: its due time follows the flight''s departure.');
SELECT pg_temp.describe('column', 'scheduled_jobs', 'job_key',
    'Unique key: scheduling the same job twice schedules it once.');
SELECT pg_temp.describe('column', 'scheduled_jobs', 'kind',
    'What the job does (a departure reminder, ...).');
SELECT pg_temp.describe('column', 'scheduled_jobs', 'last_error',
    'Why the last run failed.');
SELECT pg_temp.describe('column', 'scheduled_jobs', 'lead',
    'How long before the flight''s departure the job is due.');
SELECT pg_temp.describe('column', 'scheduled_jobs', 'outcome',
    'What the run did: ''sent'', or why it had nothing left to do (''departed'', ...).');
SELECT pg_temp.describe('column', 'scheduled_jobs', 'payload',
    'The job''s arguments.');
SELECT pg_temp.describe('column', 'schema_migrations', 'applied_at',
    'When it was applied.');
SELECT pg_temp.describe('column', 'schema_migrations', 'checksum',
    'Checksum of the file as applied: an edited migration is refused.');
SELECT pg_temp.describe('column', 'schema_migrations', 'name',
    'The migration''s file name without its number.');
SELECT pg_temp.describe('column', 'schema_migrations', 'version',
    'The migration''s number (the file name''s prefix).');
SELECT pg_temp.describe('column', 'seat_assignments', 'assigned_at',
    'When the seat was taken (booking, seat change or check-in).');
SELECT pg_temp.describe('column', 'seat_holds', 'created_at',
    'When the row was written.');
SELECT pg_temp.describe('column', 'seat_holds', 'expires_at',
    'The hold ends then; readers treat it as free from that instant.');
SELECT pg_temp.describe('column', 'seat_holds', 'hold_id',
    'The hold''s id, shared by the seats held in one request.');
SELECT pg_temp.describe('column', 'simulated_provider_ledger', 'charge_ref',
    'For a refund: the charge it refunds.');
SELECT pg_temp.describe('column', 'simulated_provider_ledger', 'created_at',
    'When the row was written.');
SELECT pg_temp.describe('column', 'simulated_provider_ledger', 'decline_code',
    'Why a charge was declined (card_declined, insufficient_funds).');
SELECT pg_temp.describe('column', 'simulated_provider_ledger', 'idempotency_key',
    'The key of the request: a retried charge is the same charge.');
SELECT pg_temp.describe('column', 'simulated_provider_ledger', 'kind',
    'charge or refund.');
SELECT pg_temp.describe('column', 'simulated_provider_ledger', 'ref',
    'The simulated provider''s reference of the charge or refund.');
SELECT pg_temp.describe('column', 'simulated_provider_ledger', 'status',
    'succeeded, declined or voided.');
SELECT pg_temp.describe('column', 'stream_tickets', 'created_at',
    'When the row was written.');
SELECT pg_temp.describe('column', 'stream_tickets', 'roles',
    'The roles of the token the ticket was made from.');
SELECT pg_temp.describe('column', 'stream_tickets', 'session_expires_at',
    'The access token''s own expiry: a stream opened with the ticket ends then.');
SELECT pg_temp.describe('column', 'stream_tickets', 'ticket_hash',
    'SHA-256 of the ticket: the ticket itself is never stored.');
SELECT pg_temp.describe('column', 'stream_tickets', 'token_issued_at',
    'A ticket stands for the token it was issued with; redeeming it checks that token''s issue time against a revocation made since. NULL for tickets issued before this migration (they last a minute) and for tokens without an iat claim.');
SELECT pg_temp.describe('column', 'stream_tickets', 'used_at',
    'When the ticket was redeemed (single use).');
SELECT pg_temp.describe('column', 'sync_clients', 'client_id',
    'The device''s id, chosen by the device.');
SELECT pg_temp.describe('column', 'sync_clients', 'created_at',
    'When the row was written.');
SELECT pg_temp.describe('column', 'sync_clients', 'last_mutation_id',
    'The last mutation of the device processed.');
SELECT pg_temp.describe('column', 'sync_clients', 'last_push_at',
    'When the device last pushed.');
SELECT pg_temp.describe('column', 'sync_mutations', 'mutation_id',
    'The mutation''s id, increasing per device.');
SELECT pg_temp.describe('column', 'sync_mutations', 'name',
    'The mutation (trip_notes.upsert, booking.change_seat, ...).');
SELECT pg_temp.describe('column', 'sync_mutations', 'processed_at',
    'When it was processed.');
SELECT pg_temp.describe('column', 'sync_mutations', 'quote_id',
    'The quote a booking command confirms.');
SELECT pg_temp.describe('column', 'sync_mutations', 'reason',
    'Why it was a conflict or rejected.');
SELECT pg_temp.describe('column', 'sync_mutations', 'status',
    'pending, applied, conflict or rejected.');
SELECT pg_temp.describe('column', 'tax_rules', 'airport',
    'The rule applies to legs at this airport.');
SELECT pg_temp.describe('column', 'tax_rules', 'amount_minor',
    'A fixed amount per passenger and leg (with currency), or NULL for a percentage.');
SELECT pg_temp.describe('column', 'tax_rules', 'carrier',
    'A carrier surcharge: the rule applies to this carrier''s legs.');
SELECT pg_temp.describe('column', 'tax_rules', 'children',
    'Children pay it.');
SELECT pg_temp.describe('column', 'tax_rules', 'code',
    'The tax''s two-character code, as on tickets (US, YC, GB, ...).');
SELECT pg_temp.describe('column', 'tax_rules', 'country',
    'The rule applies to legs departing from (or arriving in) this country.');
SELECT pg_temp.describe('column', 'tax_rules', 'currency',
    'Currency of amount_minor.');
SELECT pg_temp.describe('column', 'tax_rules', 'infants',
    'Lap infants pay it.');
SELECT pg_temp.describe('column', 'tax_rules', 'kind',
    'Government taxes and airport charges are refunded even on non-refundable fares when the passenger does not fly; carrier surcharges follow the fare.');
SELECT pg_temp.describe('column', 'tax_rules', 'levied_on',
    'departure or arrival: which end of a leg the rule is charged on.');
SELECT pg_temp.describe('column', 'tax_rules', 'max_per_slice',
    'At most this many times per direction of travel (the US PFC: 4; the AY fee: 2).');
SELECT pg_temp.describe('column', 'tax_rules', 'name',
    'The tax''s name, as on receipts.');
SELECT pg_temp.describe('column', 'tax_rules', 'percent_bp',
    'A percentage of the base fare, in basis points (with no amount).');
SELECT pg_temp.describe('column', 'tax_rules', 'premium',
    'NULL: every cabin; false: economy only; true: every cabin above economy.');
SELECT pg_temp.describe('column', 'tax_rules', 'route',
    'short_haul / long_haul: the leg''s great-circle distance under / from 2,000 miles.');
SELECT pg_temp.describe('column', 'ticket_coupons', 'coupon_no',
    'The coupon''s number within the ticket, one per segment.');
SELECT pg_temp.describe('column', 'ticket_coupons', 'document_number',
    'The document printing this coupon: the ticket itself for coupons 1-4, then its conjunction tickets. Its coupon number there is ((coupon_no - 1) % 4) + 1.');
SELECT pg_temp.describe('column', 'ticket_coupons', 'status',
    'open -> checked_in -> lifted (boarded) -> flown; or refunded, exchanged, void.');
SELECT pg_temp.describe('column', 'ticket_coupons', 'updated_at',
    'When the row last changed.');
SELECT pg_temp.describe('column', 'tickets', 'document_key',
    'A ticket''s receipt document, stored through the storage interface.');
SELECT pg_temp.describe('column', 'tickets', 'issued_at',
    'When the ticket was issued.');
SELECT pg_temp.describe('column', 'tickets', 'status',
    'open, used (flown), void, refunded or exchanged.');
SELECT pg_temp.describe('column', 'tickets', 'ticket_number',
    '13-digit e-ticket number: the carrier''s three-digit prefix and a serial.');
SELECT pg_temp.describe('column', 'token_revocations', 'revoked_at',
    'Tokens of the user issued at or before this second are refused.');
SELECT pg_temp.describe('column', 'travel_documents', 'ciphertext',
    'Number, nationality, date of birth and gender, sealed and bound to the passenger.');
SELECT pg_temp.describe('column', 'travel_documents', 'document_type',
    'passport or national_id.');
SELECT pg_temp.describe('column', 'travel_documents', 'expires_on',
    'Expiry, in clear: whether the document covers the trip.');
SELECT pg_temp.describe('column', 'travel_documents', 'key_version',
    'Which PAYMENT_ENCRYPTION_KEY key sealed the document.');
SELECT pg_temp.describe('column', 'travel_documents', 'nonce',
    'AES-GCM nonce of the sealed data.');
SELECT pg_temp.describe('column', 'travel_documents', 'updated_at',
    'When the row last changed.');
SELECT pg_temp.describe('column', 'travelers', 'created_at',
    'When the row was written.');
SELECT pg_temp.describe('column', 'travelers', 'deleted_at',
    'A deleted traveller keeps its row as a tombstone, with the personal data gone.');
SELECT pg_temp.describe('column', 'travelers', 'field_versions',
    'The record version at which each field last changed: an edit based on an older version conflicts only if it touches a field changed since.');
SELECT pg_temp.describe('column', 'travelers', 'id',
    'Chosen by the client (travellers are created offline), unique per user.');
SELECT pg_temp.describe('column', 'travelers', 'loyalty_numbers',
    'Frequent-flyer numbers by carrier code.');
SELECT pg_temp.describe('column', 'travelers', 'passport_expiry',
    'Plain passport expiry of rows written before encryption; sealed at start-up.');
SELECT pg_temp.describe('column', 'travelers', 'passport_expiry_sealed',
    'The passport expiry, sealed like the number.');
SELECT pg_temp.describe('column', 'travelers', 'passport_number',
    'Plain passport number of rows written before encryption; sealed at start-up and emptied.');
SELECT pg_temp.describe('column', 'travelers', 'passport_number_sealed',
    'Passport numbers and expiries are sealed by the application (AES-256-GCM under the card keys, bound to the owner and the field): `<key version>:<base64 nonce and ciphertext>`. The key is not in the database, so this migration cannot encrypt the rows it finds: every server seals the remaining plain values at start-up (domain/travel_documents.py), and the plain columns are emptied as it goes.');
SELECT pg_temp.describe('column', 'travelers', 'updated_at',
    'When the row last changed.');
SELECT pg_temp.describe('column', 'travelers', 'version',
    'Raised by one on every update (a trigger): events and sync carry it, and clients keep the newest.');
SELECT pg_temp.describe('column', 'trip_notes', 'body',
    'The note''s text.');
SELECT pg_temp.describe('column', 'trip_notes', 'created_at',
    'When the row was written.');
SELECT pg_temp.describe('column', 'trip_notes', 'deleted_at',
    'A deleted note keeps its row as a tombstone, with its text gone.');
SELECT pg_temp.describe('column', 'trip_notes', 'field_clocks',
    'The hybrid logical clock of each field''s last edit: concurrent edits merge field by field, the later clock winning.');
SELECT pg_temp.describe('column', 'trip_notes', 'id',
    'Chosen by the client, unique per user.');
SELECT pg_temp.describe('column', 'trip_notes', 'title',
    'The note''s title.');
SELECT pg_temp.describe('column', 'trip_notes', 'updated_at',
    'When the row last changed.');
SELECT pg_temp.describe('column', 'trip_notes', 'version',
    'Raised by one on every update (a trigger): events and sync carry it, and clients keep the newest.');
SELECT pg_temp.describe('column', 'user_bans', 'banned_at',
    'When.');
SELECT pg_temp.describe('column', 'user_bans', 'banned_by',
    'The admin who banned the user.');
SELECT pg_temp.describe('column', 'user_bans', 'reason',
    'Why, as the admin gave it.');
SELECT pg_temp.describe('column', 'user_bans', 'until',
    'The ban ends then.');
SELECT pg_temp.describe('column', 'user_preferences', 'field_clocks',
    'The hybrid logical clock of each field''s last edit (offline sync merges by field).');
SELECT pg_temp.describe('column', 'user_preferences', 'language',
    'Language of mail and notifications.');
SELECT pg_temp.describe('column', 'user_preferences', 'marketing_consent',
    'Whether the user accepts promotional mail.');
SELECT pg_temp.describe('column', 'user_preferences', 'marketing_consent_at',
    'When consent was last given or withdrawn: the record a regulator asks for.');
SELECT pg_temp.describe('column', 'user_preferences', 'meal',
    'Meal preference.');
SELECT pg_temp.describe('column', 'user_preferences', 'notification_channels',
    'Where the user wants trip news (email, ...).');
SELECT pg_temp.describe('column', 'user_preferences', 'seat',
    'Preferred seat (window, aisle, no_preference).');
SELECT pg_temp.describe('column', 'user_preferences', 'updated_at',
    'When the row last changed.');
SELECT pg_temp.describe('column', 'user_preferences', 'version',
    'Raised by one on every update (a trigger): events and sync carry it, and clients keep the newest.');
SELECT pg_temp.describe('column', 'user_roles', 'granted_at',
    'When the role was granted.');
SELECT pg_temp.describe('column', 'user_roles', 'granted_by',
    'The admin who granted it.');
SELECT pg_temp.describe('column', 'user_roles', 'role',
    'agent, ops or admin.');

-- Indexes
SELECT pg_temp.describe('index', 'airports_city_prefix_idx', NULL,
    'Airport search matches prefixes of the city and of the name, case-insensitively.');
SELECT pg_temp.describe('index', 'bookings_created_idx', NULL,
    'Statistics: sales per day are range scans that never visit the tables (covering indexes by time), and load factors read one service date range of legs.');
SELECT pg_temp.describe('index', 'change_events_topics_idx', NULL,
    'Resume and catch-up read new events by id; the horizon test is a filter on them. Topic lookups for replay use the GIN index.');
SELECT pg_temp.describe('index', 'flights_active_departure_idx', NULL,
    'Operations (the simulator) follow every unfinished flight around now, at all airports at once; finished and cancelled legs drop out of this index.');
SELECT pg_temp.describe('index', 'flights_origin_departure_idx', NULL,
    'Departure boards and search scan an origin''s departures by time; arrival boards an airport''s arrivals by time. Both are range scans on these.');
SELECT pg_temp.describe('index', 'flights_route_departure_idx', NULL,
    'Direct legs of a route on a day, and the middle legs of two-stop itineraries (origin = ANY(...) AND destination = ANY(...)), are range scans on this.');
SELECT pg_temp.describe('index', 'mail_outbox_due_idx', NULL,
    'The senders'' queue: unsent messages by when they are due.');
SELECT pg_temp.describe('index', 'mail_outbox_idempotency_idx', NULL,
    'NULL keys (auth mail, which has its own rate limit) are distinct from each other.');
SELECT pg_temp.describe('index', 'passengers_family_name_idx', NULL,
    'Agents find bookings by a passenger''s family name, and list them newest first.');
SELECT pg_temp.describe('index', 'payments_refund_of_idx', NULL,
    'What is left to refund of a charge: its refunds, found by the charge.');
SELECT pg_temp.describe('index', 'profiles_email_prefix_idx', NULL,
    'Staff search users by the start of an email or a name, case-insensitively.');
SELECT pg_temp.describe('index', 'schedule_imports_unfinished_idx', NULL,
    'Runners take the oldest unfinished job first.');
SELECT pg_temp.describe('index', 'seat_assignments_booking_idx', NULL,
    'Cancellations and changes release a booking''s seats by booking.');
SELECT pg_temp.describe('index', 'ticket_coupons_flight_idx', NULL,
    'Departures and arrivals move the coupons of their flight still in play.');
SELECT pg_temp.describe('index', 'tickets_passenger_idx', NULL,
    'Ticketing and booking reads find a passenger''s tickets; without this index both scan every ticket ever issued.');
