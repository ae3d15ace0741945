-- Comments on every table, and on the columns the migrations explained in passing,
-- so that docs/schema.md (`skybound docs schema`) can be generated from the catalogue.
-- Comments change no data and take no lock beyond a moment's; COMMENT ON replaces.

COMMENT ON TABLE admin_audit_log IS
    'Who did what, when and why, through the admin API. Append-only: the database refuses to change or remove a row, whoever asks, so the API cannot offer it either.';
COMMENT ON TABLE aircraft_cabins IS
    'One row per cabin of an aircraft type. Seat letters are written as the cabin looks from above, aisles as spaces: ''ABC DEF'' (single aisle), ''AC DFG HK''.';
COMMENT ON TABLE aircraft_types IS
    'Aircraft types by IATA code; their cabins and seat layouts are in aircraft_cabins.';
COMMENT ON TABLE airframes IS
    'Airframes by tail number, and which one flies each leg after which (the rotation): a late inbound aircraft delays its next departure.';
COMMENT ON TABLE airlines IS
    'Carriers: IATA and ICAO codes, the ticket prefix of their documents, the currency they sell in, their hub airports and when their check-in opens and closes.';
COMMENT ON TABLE airports IS
    'Airports by IATA code, with their time zone (every local time is computed from it), country and position; loaded by `skybound seed` from airportsdata.';
COMMENT ON TABLE app_secrets IS
    'Secrets the whole fleet must share (all workers, all instances, across restarts) without an operator configuring them. gen_random_uuid() draws on the server''s strong random source; two of them give 244 random bits.';
COMMENT ON TABLE archived_bookings IS
    'Bookings whose last flight landed long ago leave the hot tables (bookings, passengers, segments, seats, tickets, payments) for this one: the whole booking as it read when it was archived (``booking``: passengers with tickets, segments with their flights and seats, payments, trip notes), plus the columns a history page sorts and shows, so the past and cancelled views list archived bookings with live ones without reading a document.';
COMMENT ON TABLE auth_flow_states IS
    'One sign-in through a provider, from /authorize to the client''s code exchange: GoTrue''s flow state. The browser that started it holds a cookie whose hash is `browser_hash`; the callback must come from that browser, once, before it expires. A PKCE flow then waits here (with `user_id` and the hash of the code handed to the client) until the client redeems the code with its verifier.';
COMMENT ON TABLE auth_identities IS
    'A provider''s account linked to an auth user: GoTrue''s identities. The provider''s subject (`sub`) names it; the email is the one the provider vouched for.';
COMMENT ON TABLE auth_recovery_tokens IS
    'Password-recovery codes of the built-in auth, stored as SHA-256 hashes, single use and short-lived.';
COMMENT ON TABLE auth_refresh_tokens IS
    'Refresh tokens of the built-in auth, stored as SHA-256 hashes. Each is exchanged once for its successor; presenting a rotated one again is reuse and ends the session.';
COMMENT ON TABLE auth_sessions IS
    'A sign-in. Every refresh token descends from the one issued at sign-in, so the session is the token family: revoking it ends every token in it.';
COMMENT ON TABLE auth_throttle IS
    'Fixed-window counters for throttling (failed sign-ins per account and per IP, sign-ups and recovery requests per IP), shared by every worker and instance.';
COMMENT ON TABLE auth_users IS
    'Accounts of the built-in auth server (GoTrue-compatible /auth/v1), unused when a Supabase project is the auth server. Passwords are argon2id hashes.';
COMMENT ON TABLE booking_quotes IS
    'A priced proposal to change or cancel a booking. Confirming it is a single UPDATE ... WHERE confirmed_at IS NULL, so a quote is confirmed at most once; the stored result answers every later confirmation.';
COMMENT ON TABLE booking_segments IS
    'The legs of a booking, in travel order.';
COMMENT ON TABLE bookings IS
    'Bookings: record locator, owner, contact, status, total and the fare sold; their passengers, segments, seats, tickets and payments hang off this row.';
COMMENT ON TABLE change_events IS
    'Append-only record of meaningful changes, filled by capture triggers (the realtime pipeline) and read by stream resume and offline sync. xact_id is the writing transaction''s id: readers only hand out events of transactions older than the snapshot''s xmin, so an event committed late under a smaller id is never skipped (see docs/realtime.md).';
COMMENT ON TABLE change_log_state IS
    'One row: the log''s epoch (a restored or recreated database gets a new one, so clients holding old positions re-snapshot) and how far retention purged.';
COMMENT ON TABLE check_in_sequences IS
    'The last check-in sequence number handed out per flight. The upsert that takes the next one locks the flight''s row, so concurrent check-ins queue for a number and never share one; the unique key below holds whatever the writer.';
COMMENT ON TABLE check_ins IS
    'One row per passenger and flight. An undone check-in keeps its row (status ''undone''), so a device hears that its boarding pass is gone and versions only grow; checking in again takes a new sequence number, as a departure control system does.';
COMMENT ON TABLE codeshares IS
    'Codeshares: a leg one carrier operates, also sold under a partner''s code and number (KA7001 operated by Skybound Airways). Boards list the codes; an itinerary sold by the partner shows its segment under the partner''s code, "operated by" the operator.';
COMMENT ON TABLE emds IS
    'Electronic miscellaneous documents: paid extras (a seat, a bag) issued as their own documents with their own numbers.';
COMMENT ON TABLE exchange_rates IS
    'Reference rates for pricing itineraries that mix carriers'' currencies. units_per_usd: how many major units of the currency one US dollar buys.';
COMMENT ON TABLE fare_brands IS
    'Fare brands: what a cabin''s fare includes and how it may be changed or refunded.';
COMMENT ON TABLE flight_cabins IS
    'Fares and seat inventory per cabin of a leg.';
COMMENT ON TABLE flight_notice_windows IS
    'The open coalescing window of each flight and kind of news: every update inside it joins the one message per recipient that the window''s first update queued, and that message is due when the window ends (it is rendered then, with the flight as it is by that time, so five delays send the latest time once).';
COMMENT ON TABLE flight_rotations IS
    'Which leg an airframe flies after which: a late inbound aircraft delays its next departure.';
COMMENT ON TABLE flights IS
    'Scheduled legs: one row per flight number, origin and local service date, with times (scheduled, estimated, actual), terminals, gates, baggage belt, status and the version every change raises.';
COMMENT ON TABLE idempotency_keys IS
    'One row per (user, operation, Idempotency-Key). The row is inserted first in the request''s own transaction, so a racing retry blocks on the primary key until the first attempt commits (then replays its response) or rolls back (then runs itself). A failed attempt leaves no row behind.';
COMMENT ON TABLE mail_campaigns IS
    'A promotional campaign: its content per language (subject, html and text, each a sandboxed template; English is the fallback) and its audience. Only users whose marketing consent is on receive it, each at most once (the outbox key is the campaign and the user), and consent is checked again when each message is sent.';
COMMENT ON TABLE mail_outbox IS
    'Outgoing mail goes through an outbox: a request writes its message in the same transaction as the state it reports (a recovery token), and a background sender in every worker delivers it. So /auth/v1/recover answers without waiting on SMTP, and its timing no longer tells whether an account exists.';
COMMENT ON TABLE mail_settings IS
    'Knobs the database''s own writers need (the flight trigger below runs for psql and the simulator too); each process writes its settings here when it starts.';
COMMENT ON TABLE mail_undeliverable IS
    'Addresses a mail server refused for good (a 5xx answer): nothing more is sent to them. A recipient who changes their address gets mail at the new one; an address is unmarked by deleting its row (an operator who knows it works again).';
COMMENT ON TABLE minimum_connection_times IS
    'Minimum connection times per airport, as airlines publish them: by the status of the arriving and the departing leg at the connecting airport. ''D'' is domestic (the leg''s other end is in the same country, or both ends are in the Schengen area, where there is no passport control between them); ''I'' is international. Airports without rows use the configured defaults. Reference data: rows for airports not loaded are harmless.';
COMMENT ON TABLE notifications IS
    'A user''s in-app notifications (flight and booking news), synced to devices and marked read there.';
COMMENT ON TABLE passengers IS
    'The passengers of a booking, numbered from 1 in booking order; a lap infant names its adult.';
COMMENT ON TABLE payment_methods IS
    'Cards a user saved for later bookings: brand, last four digits and expiry in clear; number and holder name sealed with AES-256-GCM. The CVC is never stored.';
COMMENT ON TABLE payments IS
    'Charges and refunds of a booking through the payment provider, with the provider''s reference and the card''s brand and last four digits.';
COMMENT ON TABLE profiles IS
    'A traveller''s profile, keyed by the auth user''s UUID (Supabase auth.users.id or the built-in auth): contact details, date of birth, nationality and loyalty numbers.';
COMMENT ON TABLE realtime_tables IS
    'Which tables publish row events, as Supabase''s `supabase_realtime` publication does: none until enabled (SKYBOUND_REALTIME_TABLES at startup, or an INSERT here), so a deployment that does not use the compatible endpoint writes nothing more to the log.';
COMMENT ON TABLE schedule_imports IS
    'Schedule imports uploaded over HTTP: a queue of jobs that any worker of the fleet may run (one at a time), with their progress and outcome for whoever polls.';
COMMENT ON TABLE scheduled_jobs IS
    'A job runs once its due time has come, claimed by any worker of any instance with FOR UPDATE SKIP LOCKED; its effects (the mail it queues) and done_at commit in one transaction, so it runs exactly once. A job tied to a flight is due `lead` before its (estimated) departure, and moves with it.';
COMMENT ON TABLE schema_migrations IS
    'The migrations applied to this database, by version, with the checksum of each file (an edited migration is refused).';
COMMENT ON TABLE seat_assignments IS
    'The seat map''s source of truth: one row per occupied seat of a leg. The primary key is what makes a double-booked seat impossible.';
COMMENT ON TABLE seat_holds IS
    'A seat held for a user while they book. A hold is live until expires_at; readers treat an expired hold as free whether or not the reaper has deleted it yet, so expiry never waits on a background task.';
COMMENT ON TABLE simulated_provider_ledger IS
    'SIMULATED: the ledger of the built-in "simulated" payment provider, which moves no money. It stands in for a real provider''s records, so it is written outside the booking''s transaction, as a real provider''s would be, and tests read it to prove that a failed booking left no charge behind.';
COMMENT ON TABLE stream_tickets IS
    'Stream tickets: short-lived, single-use credentials for clients that cannot send headers (EventSource), so long-lived tokens never travel in URLs. Only a hash of the ticket is stored; redeeming marks it used in the same row.';
COMMENT ON TABLE sync_clients IS
    'A device (client id, chosen by the device, unique per install) and the last of its mutations processed. Mutation ids only increase; a push repeating an id at or below this one is a retry, answered from sync_mutations.';
COMMENT ON TABLE sync_mutations IS
    'The outcome of each processed mutation (the latest 1,000 per client), so a retried push reports what happened the first time. ''pending'': a booking command whose quote is being confirmed; a retry confirms the same quote. event_id: the newest change event the mutation wrote, so a pull reports a mutation as processed only once its effect is within the pulled range.';
COMMENT ON TABLE tax_rules IS
    'Taxes, fees and carrier surcharges added to base fares, as reference data (loaded by `skybound seed`, with the airports they name). Each rule is levied per passenger on a leg: on its departure from a country or airport, or on its arrival in a country from abroad; carrier surcharges (YQ, YR) on the legs a carrier flies. Amounts are fixed in their own currency, or a share of the leg''s base fare (the US transportation tax).';
COMMENT ON TABLE ticket_coupons IS
    'The flight coupons of a ticket, one per passenger and segment, with their status through check-in and boarding.';
COMMENT ON TABLE tickets IS
    'One e-ticket per passenger of a booking: the 13-digit number (the airline''s prefix then a serial) and its stored receipt.';
COMMENT ON TABLE token_revocations IS
    'Ending an account (GDPR erasure) must also end the tokens it was given. Access tokens are JWTs that every worker verifies locally, so a worker has to be told: a token of this user issued at or before the second of revoked_at no longer counts. Kept per user, not per token, and for users of Supabase Auth too (whose accounts Skybound cannot delete), so no user id here references auth_users.';
COMMENT ON TABLE travel_documents IS
    'A passenger''s travel document (the APIS data of an international flight). Type and expiry stay in clear, to tell whether the document still covers a trip; number, nationality, date of birth and gender are AES-256-GCM sealed, bound to the passenger.';
COMMENT ON TABLE travelers IS
    'Ids are chosen by the client (a device creates travellers offline); they are unique per user, so one user''s ids say nothing about another''s.';
COMMENT ON TABLE trip_notes IS
    'Notes a user keeps on a booking; synced offline like travellers, field by field.';
COMMENT ON TABLE user_bans IS
    'A ban keeps a user out until a time: every token of theirs is refused while it lasts, also tokens an outside auth server (Supabase) issues meanwhile. Kept with the user''s standing (roles, revocation), so the same notification makes every worker forget it.';
COMMENT ON TABLE user_preferences IS
    'A user''s settings: seat and meal preferences, language, notification channels and marketing consent (with when it was given or withdrawn).';
COMMENT ON TABLE user_roles IS
    'Roles granted by admins, on top of those in the token''s app_metadata.roles. Every signed-in user is a passenger; agent, ops and admin are granted here.';

COMMENT ON COLUMN admin_audit_log.batch IS 'One bulk action writes one row per thing it changed, all with the same batch.';
COMMENT ON COLUMN admin_audit_log.changes IS 'What changed: {"field": [old, new]}, or what was done ({"sessions_revoked": 2}).';
COMMENT ON COLUMN aircraft_types.code IS 'IATA type, e.g. 32N';
COMMENT ON COLUMN aircraft_types.icao IS 'ICAO type, e.g. A20N';
COMMENT ON COLUMN airlines.ticket_prefix IS 'IATA airline accounting code: the first three digits of every ticket number.';
COMMENT ON COLUMN airports.is_hub IS 'A hub of some carrier: size class drives the generated schedule and ranks airport search results.';
COMMENT ON COLUMN app_secrets.created_at IS 'When the row was written.';
COMMENT ON COLUMN archived_bookings.created_at IS 'When the row was written.';
COMMENT ON COLUMN archived_bookings.document_keys IS 'Stored ticket receipts stay in the file storage; erasure deletes them.';
COMMENT ON COLUMN auth_flow_states.code_challenge IS 'PKCE between the client and Skybound; NULL for the implicit flow.';
COMMENT ON COLUMN auth_flow_states.created_at IS 'When the row was written.';
COMMENT ON COLUMN auth_flow_states.provider_verifier IS 'PKCE between Skybound and the provider: secret, and short-lived like the row.';
COMMENT ON COLUMN auth_identities.created_at IS 'When the row was written.';
COMMENT ON COLUMN auth_identities.updated_at IS 'When the row last changed.';
COMMENT ON COLUMN auth_recovery_tokens.created_at IS 'When the row was written.';
COMMENT ON COLUMN auth_refresh_tokens.created_at IS 'When the row was written.';
COMMENT ON COLUMN auth_refresh_tokens.rotated_at IS 'Set when the token is exchanged for its successor: presenting it again is reuse.';
COMMENT ON COLUMN auth_sessions.created_at IS 'When the row was written.';
COMMENT ON COLUMN auth_sessions.method IS 'How the user proved who they are: GoTrue''s amr method (password, recovery).';
COMMENT ON COLUMN auth_users.app_metadata IS 'Set by operators only (e.g. {"roles": ["ops"]}); users cannot change it.';
COMMENT ON COLUMN auth_users.created_at IS 'When the row was written.';
COMMENT ON COLUMN auth_users.email_confirmed_at IS 'Sign-up confirms at once (no confirmation email); kept for GoTrue''s user shape.';
COMMENT ON COLUMN auth_users.updated_at IS 'When the row last changed.';
COMMENT ON COLUMN booking_quotes.amount_minor IS 'Positive: the traveller pays; negative: the traveller is refunded.';
COMMENT ON COLUMN booking_quotes.created_at IS 'When the row was written.';
COMMENT ON COLUMN bookings.created_at IS 'When the row was written.';
COMMENT ON COLUMN bookings.updated_at IS 'When the row last changed.';
COMMENT ON COLUMN bookings.version IS 'Raised by one on every update (a trigger): events and sync carry it, and clients keep the newest.';
COMMENT ON COLUMN change_events.created_at IS 'When the row was written.';
COMMENT ON COLUMN check_ins.seat_assigned IS 'The seat was given by check-in (none was chosen): undoing check-in frees it.';
COMMENT ON COLUMN check_ins.updated_at IS 'When the row last changed.';
COMMENT ON COLUMN check_ins.version IS 'Raised by one on every update (a trigger): events and sync carry it, and clients keep the newest.';
COMMENT ON COLUMN emds.rfic IS 'Reason for issuance: C (baggage), A (air transportation, with the sub code 0B5 for a seat assignment, as ATPCO codes it).';
COMMENT ON COLUMN emds.status IS 'open -> used (the flight left with the passenger aboard); or refunded, void, exchanged (the seat changed to another paid seat).';
COMMENT ON COLUMN exchange_rates.updated_at IS 'When the row last changed.';
COMMENT ON COLUMN fare_brands.price_pct IS 'Price of this brand as a percentage of the cabin''s base fare.';
COMMENT ON COLUMN flight_cabins.base_fare_minor IS 'Adult base fare; fare brands price themselves as a percentage of it.';
COMMENT ON COLUMN flight_cabins.updated_at IS 'When the row last changed.';
COMMENT ON COLUMN flight_cabins.version IS 'Raised by one on every update (a trigger): events and sync carry it, and clients keep the newest.';
COMMENT ON COLUMN flights.service_date IS 'Local date of departure at the origin: the "date of operation" of the leg.';
COMMENT ON COLUMN flights.updated_at IS 'When the row last changed.';
COMMENT ON COLUMN flights.version IS 'Raised by one on every update (a trigger): events and sync carry it, and clients keep the newest.';
COMMENT ON COLUMN idempotency_keys.created_at IS 'When the row was written.';
COMMENT ON COLUMN mail_campaigns.created_at IS 'When the row was written.';
COMMENT ON COLUMN mail_campaigns.home_airport IS 'Users who have booked a flight from this airport, or on this route (NULL: all).';
COMMENT ON COLUMN mail_outbox.attempts IS 'Incremented when a sender claims the message, before it talks to SMTP.';
COMMENT ON COLUMN mail_outbox.body IS 'NULL once the message is sent or given up: a body may hold a secret (a recovery code), which is kept only as long as it is needed for delivery.';
COMMENT ON COLUMN mail_outbox.created_at IS 'When the row was written.';
COMMENT ON COLUMN mail_outbox.next_attempt_at IS 'When a sender may (next) claim it; a claim pushes it forward as a lease. NULL (and not sent): given up, after too many failures or a permanent refusal.';
COMMENT ON COLUMN mail_settings.delay_threshold IS 'A later estimated departure is news from this much on.';
COMMENT ON COLUMN mail_settings.flight_notice_window IS 'Flight updates of one kind within this long of the first are one email.';
COMMENT ON COLUMN notifications.created_at IS 'When the row was written.';
COMMENT ON COLUMN notifications.kind IS 'the type of the change event it reports';
COMMENT ON COLUMN notifications.updated_at IS 'When the row last changed.';
COMMENT ON COLUMN notifications.version IS 'Raised by one on every update (a trigger): events and sync carry it, and clients keep the newest.';
COMMENT ON COLUMN payment_methods.created_at IS 'When the row was written.';
COMMENT ON COLUMN payment_methods.key_version IS 'Which key sealed nonce and ciphertext (AES-256-GCM of the card number and holder name).';
COMMENT ON COLUMN payments.created_at IS 'When the row was written.';
COMMENT ON COLUMN payments.updated_at IS 'When the row last changed.';
COMMENT ON COLUMN profiles.created_at IS 'When the row was written.';
COMMENT ON COLUMN profiles.updated_at IS 'When the row last changed.';
COMMENT ON COLUMN profiles.version IS 'Raised by one on every update (a trigger): events and sync carry it, and clients keep the newest.';
COMMENT ON COLUMN schedule_imports.created_at IS 'When the row was written.';
COMMENT ON COLUMN schedule_imports.file IS 'The uploaded file, kept until the job has finished.';
COMMENT ON COLUMN schedule_imports.stage IS 'parsing, staging, checking, applying: where a running import is.';
COMMENT ON COLUMN scheduled_jobs.created_at IS 'When the row was written.';
COMMENT ON COLUMN scheduled_jobs.outcome IS 'What the run did: ''sent'', or why it had nothing left to do (''departed'', ...).';
COMMENT ON COLUMN schema_migrations.version IS 'The migration''s number (the file name''s prefix).';
COMMENT ON COLUMN seat_holds.created_at IS 'When the row was written.';
COMMENT ON COLUMN simulated_provider_ledger.created_at IS 'When the row was written.';
COMMENT ON COLUMN stream_tickets.created_at IS 'When the row was written.';
COMMENT ON COLUMN stream_tickets.session_expires_at IS 'The access token''s own expiry: a stream opened with the ticket ends then.';
COMMENT ON COLUMN sync_clients.created_at IS 'When the row was written.';
COMMENT ON COLUMN tax_rules.kind IS 'Government taxes and airport charges are refunded even on non-refundable fares when the passenger does not fly; carrier surcharges follow the fare.';
COMMENT ON COLUMN tax_rules.max_per_slice IS 'At most this many times per direction of travel (the US PFC: 4; the AY fee: 2).';
COMMENT ON COLUMN tax_rules.premium IS 'NULL: every cabin; false: economy only; true: every cabin above economy.';
COMMENT ON COLUMN tax_rules.route IS 'short_haul / long_haul: the leg''s great-circle distance under / from 2,000 miles.';
COMMENT ON COLUMN ticket_coupons.document_number IS 'The document printing this coupon: the ticket itself for coupons 1-4, then its conjunction tickets. Its coupon number there is ((coupon_no - 1) % 4) + 1.';
COMMENT ON COLUMN ticket_coupons.status IS 'open -> checked_in -> lifted (boarded) -> flown; or refunded, exchanged, void.';
COMMENT ON COLUMN ticket_coupons.updated_at IS 'When the row last changed.';
COMMENT ON COLUMN travel_documents.updated_at IS 'When the row last changed.';
COMMENT ON COLUMN travelers.created_at IS 'When the row was written.';
COMMENT ON COLUMN travelers.deleted_at IS 'A deleted traveller keeps its row as a tombstone, with the personal data gone.';
COMMENT ON COLUMN travelers.field_versions IS 'The record version at which each field last changed: an edit based on an older version conflicts only if it touches a field changed since.';
COMMENT ON COLUMN travelers.updated_at IS 'When the row last changed.';
COMMENT ON COLUMN travelers.version IS 'Raised by one on every update (a trigger): events and sync carry it, and clients keep the newest.';
COMMENT ON COLUMN trip_notes.created_at IS 'When the row was written.';
COMMENT ON COLUMN trip_notes.updated_at IS 'When the row last changed.';
COMMENT ON COLUMN trip_notes.version IS 'Raised by one on every update (a trigger): events and sync carry it, and clients keep the newest.';
COMMENT ON COLUMN user_preferences.marketing_consent_at IS 'When consent was last given or withdrawn: the record a regulator asks for.';
COMMENT ON COLUMN user_preferences.updated_at IS 'When the row last changed.';
COMMENT ON COLUMN user_preferences.version IS 'Raised by one on every update (a trigger): events and sync carry it, and clients keep the newest.';
