-- Preferences, saved payment methods (card data encrypted by the application,
-- never a CVC), avatars, and GDPR erasure.

CREATE TABLE user_preferences (
    user_id                uuid PRIMARY KEY REFERENCES profiles ON DELETE CASCADE,
    seat                   text NOT NULL DEFAULT 'no_preference'
                               CHECK (seat IN ('window', 'aisle', 'no_preference')),
    meal                   text NOT NULL DEFAULT 'standard'
                               CHECK (meal IN ('standard', 'vegetarian', 'vegan', 'halal',
                                               'kosher', 'gluten_free', 'child')),
    language               text NOT NULL DEFAULT 'en',
    notification_channels  text[] NOT NULL DEFAULT '{email}',
    marketing_consent      boolean NOT NULL DEFAULT false,
    -- When consent was last given or withdrawn: the record a regulator asks for.
    marketing_consent_at   timestamptz,
    updated_at             timestamptz NOT NULL DEFAULT now(),
    version                integer NOT NULL DEFAULT 1
);

CREATE TRIGGER user_preferences_bump_version
    BEFORE UPDATE ON user_preferences
    FOR EACH ROW EXECUTE FUNCTION bump_row_version();

CREATE TABLE payment_methods (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id      uuid NOT NULL REFERENCES profiles ON DELETE CASCADE,
    brand        text NOT NULL,
    last4        char(4) NOT NULL CHECK (last4 ~ '^[0-9]{4}$'),
    exp_month    smallint NOT NULL CHECK (exp_month BETWEEN 1 AND 12),
    exp_year     smallint NOT NULL CHECK (exp_year BETWEEN 2000 AND 2100),
    -- AES-256-GCM of the card number and holder name; key_version names the key.
    key_version  text NOT NULL,
    nonce        bytea NOT NULL,
    ciphertext   bytea NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payment_methods_user_idx ON payment_methods (user_id, created_at);

ALTER TABLE profiles ADD COLUMN avatar_key text;
ALTER TABLE profiles ADD COLUMN erased_at timestamptz;
