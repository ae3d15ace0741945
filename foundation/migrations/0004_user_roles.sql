-- Roles granted by admins, on top of those in the token's app_metadata.roles.
-- Every signed-in user is a passenger; agent, ops and admin are granted here.
CREATE TABLE user_roles (
    user_id     uuid NOT NULL,
    role        text NOT NULL CHECK (role IN ('agent', 'ops', 'admin')),
    granted_by  uuid,
    granted_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, role)
);
