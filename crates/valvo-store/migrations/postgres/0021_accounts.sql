-- Accounts a county's IT runs (postgres): single sign-on and the life cycle of
-- API tokens. Keep in step with ../sqlite/0021_accounts.sql.

-- The identity-provider account a user is linked to at the first sign-in
-- (issuer and subject), so a later sign-in finds the user even when the
-- e-mail address changes.
ALTER TABLE users ADD COLUMN oidc_issuer TEXT;
ALTER TABLE users ADD COLUMN oidc_subject TEXT;
ALTER TABLE users ADD COLUMN last_sign_in_at TEXT;
CREATE UNIQUE INDEX users_oidc_subject ON users (oidc_issuer, oidc_subject);

-- Tokens: an optional expiry, a revocation time, the last use, and a
-- narrower scope or read-only use than the user's own.
ALTER TABLE api_tokens ADD COLUMN expires_at TEXT;
ALTER TABLE api_tokens ADD COLUMN revoked_at TEXT;
ALTER TABLE api_tokens ADD COLUMN last_used_at TEXT;
ALTER TABLE api_tokens ADD COLUMN read_only BIGINT NOT NULL DEFAULT 0;
ALTER TABLE api_tokens ADD COLUMN scope_org_id BIGINT REFERENCES org_units(id);

-- Sign-ins under way at the identity provider: the state's hash, the
-- nonce and PKCE verifier it was started with, where to go after. In the
-- database, not in one instance's memory: the provider may send the
-- browser back to another instance. Each is taken (deleted) once.
CREATE TABLE oidc_logins (
    state_hash  TEXT PRIMARY KEY,
    nonce       TEXT NOT NULL,
    verifier    TEXT NOT NULL,
    next        TEXT NOT NULL,
    created_at  TEXT NOT NULL
);

-- One-time links to set a password (an invitation, a reset by an
-- administrator): the link's hash, whose password it sets, until when.
-- Used once: a conditional update marks it used.
CREATE TABLE password_links (
    token_hash  TEXT PRIMARY KEY,
    user_id     BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    used_at     TEXT
);
