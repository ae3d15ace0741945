-- Sign-in with an OpenID Connect provider (Google) in the built-in auth, and travel
-- documents encrypted at rest.

-- An account made by a provider has no password.
ALTER TABLE auth_users ALTER COLUMN encrypted_password DROP NOT NULL;

-- A provider's account linked to an auth user: GoTrue's identities. The provider's
-- subject (`sub`) names it; the email is the one the provider vouched for.
CREATE TABLE auth_identities (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id          uuid NOT NULL REFERENCES auth_users ON DELETE CASCADE,
    provider         text NOT NULL,
    provider_id      text NOT NULL,
    email            text,
    identity_data    jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(identity_data) = 'object'),
    last_sign_in_at  timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (provider, provider_id)
);
CREATE INDEX auth_identities_user_idx ON auth_identities (user_id);

-- One sign-in through a provider, from /authorize to the client's code exchange:
-- GoTrue's flow state. The browser that started it holds a cookie whose hash is
-- `browser_hash`; the callback must come from that browser, once, before it expires.
-- A PKCE flow then waits here (with `user_id` and the hash of the code handed to the
-- client) until the client redeems the code with its verifier.
CREATE TABLE auth_flow_states (
    id                     uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    provider               text NOT NULL,
    browser_hash           bytea NOT NULL,
    nonce                  text NOT NULL,
    -- PKCE between Skybound and the provider: secret, and short-lived like the row.
    provider_verifier      text NOT NULL,
    callback_url           text NOT NULL,
    redirect_to            text NOT NULL,
    -- PKCE between the client and Skybound; NULL for the implicit flow.
    code_challenge         text,
    code_challenge_method  text CHECK (code_challenge_method IN ('s256', 'plain')),
    created_at             timestamptz NOT NULL DEFAULT now(),
    expires_at             timestamptz NOT NULL,
    callback_at            timestamptz,
    user_id                uuid REFERENCES auth_users ON DELETE CASCADE,
    auth_code_hash         bytea UNIQUE,
    auth_code_expires_at   timestamptz,
    CHECK ((code_challenge IS NULL) = (code_challenge_method IS NULL))
);
CREATE INDEX auth_flow_states_expiry_idx ON auth_flow_states (expires_at);

-- Travel documents ---------------------------------------------------------------
-- Passport numbers and expiries are sealed by the application (AES-256-GCM under the
-- card keys, bound to the owner and the field): `<key version>:<base64 nonce and
-- ciphertext>`. The key is not in the database, so this migration cannot encrypt the
-- rows it finds: every server seals the remaining plain values at start-up
-- (domain/travel_documents.py), and the plain columns are emptied as it goes.
ALTER TABLE travelers ADD COLUMN passport_number_sealed text;
ALTER TABLE travelers ADD COLUMN passport_expiry_sealed text;
CREATE INDEX travelers_unsealed_idx ON travelers (user_id, id)
    WHERE passport_number IS NOT NULL OR passport_expiry IS NOT NULL;

-- Field versions follow the sealed columns under the fields' names. Sealing a plain
-- value (or re-sealing under a new key) changes no field: with `skybound.resealing`
-- set for its transaction, the row keeps its versions.
CREATE OR REPLACE FUNCTION bump_traveler_versions() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    field text;
    new_row jsonb;
    old_row jsonb := to_jsonb(OLD);
BEGIN
    IF NEW IS NOT DISTINCT FROM OLD
       OR current_setting('skybound.resealing', true) = 'on' THEN
        RETURN NEW;
    END IF;
    NEW.version := OLD.version + 1;
    NEW.updated_at := now();
    new_row := to_jsonb(NEW);
    FOREACH field IN ARRAY ARRAY['given_name', 'family_name', 'date_of_birth', 'nationality',
                                 'passport_number', 'passport_expiry', 'loyalty_numbers',
                                 'deleted_at'] LOOP
        IF (new_row -> field) IS DISTINCT FROM (old_row -> field)
           OR (new_row -> (field || '_sealed')) IS DISTINCT FROM (old_row -> (field || '_sealed'))
        THEN
            NEW.field_versions := NEW.field_versions || jsonb_build_object(field, NEW.version);
        END IF;
    END LOOP;
    RETURN NEW;
END
$$;
