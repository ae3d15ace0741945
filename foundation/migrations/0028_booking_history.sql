-- A booking's own history: every confirmed change or cancellation, who made it and, when
-- someone other than the owner did (an agent acting for the passenger), why. Written in
-- the confirming transaction; append-only like the audit log.
CREATE TABLE booking_history (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    booking_id  uuid NOT NULL,
    at          timestamptz NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('change', 'cancellation')),
    quote_id    uuid NOT NULL UNIQUE,
    actor       uuid NOT NULL,
    on_behalf   boolean NOT NULL,
    reason      text
);
CREATE INDEX booking_history_booking_idx ON booking_history (booking_id, id);

CREATE TRIGGER booking_history_append_only
    BEFORE UPDATE OR DELETE ON booking_history
    FOR EACH ROW EXECUTE FUNCTION refuse_audit_rewrite();
