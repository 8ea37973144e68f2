-- Session cut-off: an admin can disable an account, and "log out
-- everywhere" (by the user or an admin) ends all of a user's sessions at
-- once. Access tokens carry the session_version they were issued under;
-- ending the sessions increments it, and every api replica refuses tokens
-- of an older version within a second (the new version is broadcast
-- through Redis, so no request reads the database for it).
ALTER TABLE users
    ADD COLUMN disabled_at     timestamptz,
    ADD COLUMN session_version bigint NOT NULL DEFAULT 0 CHECK (session_version >= 0);
