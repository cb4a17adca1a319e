-- 001: registrations, one row per (service, bare JID).
--
-- service        the component JID the user registered with
-- jid            the user's bare JID
-- username       the value of the form's "username" field, when it has one
-- fields         var -> value (array of values for -multi fields); never a
--                password, and text-private values only as bcrypt hashes
-- password_hash  bcrypt "$2a$..." of the "password" field, NULL when none;
--                check in SQL with  password_hash = crypt($1, password_hash)
DO $$
BEGIN
    IF current_setting('server_encoding') <> 'UTF8' THEN
        RAISE EXCEPTION 'registrar needs a UTF8 database, this one is %',
            current_setting('server_encoding');
    END IF;
END
$$;

CREATE TABLE registrations (
    service       text        NOT NULL,
    jid           text        NOT NULL,
    username      text,
    fields        jsonb       NOT NULL DEFAULT '{}'::jsonb,
    password_hash text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT registrations_pkey PRIMARY KEY (service, jid),
    CONSTRAINT registrations_fields_object
        CHECK (jsonb_typeof(fields) = 'object'),
    CONSTRAINT registrations_username_not_blank
        CHECK (username IS NULL OR btrim(username) <> ''),
    CONSTRAINT registrations_password_hash_bcrypt
        CHECK (password_hash IS NULL OR password_hash LIKE '$2a$__$%')
);

-- A username is taken once per service, whatever its case or Unicode
-- width: "Bill", "bill" and fullwidth "ｂｉｌｌ" are the same name.
CREATE UNIQUE INDEX registrations_username_key
    ON registrations (service, lower(normalize(username, NFKC)))
    WHERE username IS NOT NULL;

CREATE INDEX registrations_created_at_idx
    ON registrations (service, created_at);

COMMENT ON TABLE registrations IS
    'XEP-0077 registrations kept by registrar, one per (service, bare JID)';
COMMENT ON COLUMN registrations.password_hash IS
    'bcrypt $2a$ hash; verify with password_hash = crypt(pw, password_hash)';
