-- 003: one username rule, decided here and nowhere else.
--
-- registrar_username_key(u)    the comparison key of a username: NFKC,
--                              Unicode case folding (ICU "und", whatever
--                              the database's LC_CTYPE), NFKC again.  Two
--                              usernames are the same name exactly when
--                              their keys are equal: "Émile" = "ÉMILE" =
--                              "émile", fullwidth "ｂｉｌｌ" = "bill",
--                              "Straße" = "STRASSE", "ΟΔΟΣ" = "οδοσ".
--                              The unique index, every statement of
--                              registrar and admin SQL compare with it.
-- registrar_username_valid(u)  false when u is refused: empty key; any
--                              control (Cc), format (Cf, Unicode 15),
--                              noncharacter or line/paragraph separator;
--                              white space of any kind (White_Space) at
--                              either end of u or of its key.  The CHECK
--                              registrations_username_valid uses it;
--                              component/text.c says the same in C.
--
-- Usernames that were distinct under 001's index (lower() of the
-- database's LC_CTYPE, which folds ASCII only under C) may be one name
-- now: the migration then stops, changes nothing and says how many; rename
-- or remove them and run it again.  Existing usernames that break the new
-- CHECK are kept (the constraint stays NOT VALID, with a notice) until
-- they are changed; new and updated rows are always checked.
--
-- Both functions depend on the Unicode tables of PostgreSQL (normalize)
-- and ICU (case folding): after an upgrade that changes them, run
-- REINDEX INDEX registrations_username_key.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_collation
                    WHERE collname = 'und-x-icu' AND collprovider = 'i') THEN
        RAISE EXCEPTION 'registrar needs PostgreSQL built with ICU (the '
            'collation "und-x-icu" is missing)';
    END IF;
END
$$;

-- upper() then lower() is full case folding for names: "ß" and "SS", a
-- final "ς" and "σ" fold alike; the explicit ICU collation folds every
-- script even when the database's LC_CTYPE is C.
CREATE FUNCTION registrar_username_key(username text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN normalize(lower(upper(normalize(username, NFKC)
                             COLLATE pg_catalog."und-x-icu")), NFKC);

COMMENT ON FUNCTION registrar_username_key(text) IS
    'the comparison key of a username: equal keys are the same name';

-- Code point classes written out (Unicode 15.0), so that the rule does not
-- depend on the locale.  Controls, format characters, noncharacters and
-- line/paragraph separators anywhere; White_Space at either end.
CREATE FUNCTION registrar_username_valid(username text) RETURNS boolean
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN registrar_username_key(username) <> ''
   AND username !~ (E'[\\u0001-\\u001F\\u007F-\\u009F'
       '\\u00AD\\u0600-\\u0605\\u061C\\u06DD\\u070F\\u0890\\u0891\\u08E2'
       '\\u180E\\u200B-\\u200F\\u202A-\\u202E\\u2060-\\u2064'
       '\\u2066-\\u206F\\uFEFF\\uFFF9-\\uFFFB\\U000110BD\\U000110CD'
       '\\U00013430-\\U0001343F\\U0001BCA0-\\U0001BCA3'
       '\\U0001D173-\\U0001D17A\\U000E0001\\U000E0020-\\U000E007F'
       '\\uFDD0-\\uFDEF\\uFFFE\\uFFFF\\U0001FFFE\\U0001FFFF'
       '\\U0002FFFE\\U0002FFFF\\U0003FFFE\\U0003FFFF\\U0004FFFE\\U0004FFFF'
       '\\U0005FFFE\\U0005FFFF\\U0006FFFE\\U0006FFFF\\U0007FFFE\\U0007FFFF'
       '\\U0008FFFE\\U0008FFFF\\U0009FFFE\\U0009FFFF\\U000AFFFE\\U000AFFFF'
       '\\U000BFFFE\\U000BFFFF\\U000CFFFE\\U000CFFFF\\U000DFFFE\\U000DFFFF'
       '\\U000EFFFE\\U000EFFFF\\U000FFFFE\\U000FFFFF\\U0010FFFE\\U0010FFFF'
       '\\u2028\\u2029]')
   AND username !~ (E'^[\\u0009-\\u000D\\u0020\\u0085\\u00A0\\u1680'
       '\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]'
       '|[\\u0009-\\u000D\\u0020\\u0085\\u00A0\\u1680'
       '\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]$')
   AND registrar_username_key(username) !~ (E'^[\\u0009-\\u000D\\u0020'
       '\\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F'
       '\\u3000]|[\\u0009-\\u000D\\u0020\\u0085\\u00A0\\u1680'
       '\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]$');

COMMENT ON FUNCTION registrar_username_valid(text) IS
    'false when the username is refused (see sql/003_username_rule.sql)';

-- Names that the new key makes one: stop before the index fails, without
-- printing them (they are personal data).
DO $$
DECLARE
    n bigint;
BEGIN
    SELECT count(*) INTO n FROM (
        SELECT 1 FROM registrations
         WHERE username IS NOT NULL
         GROUP BY service, registrar_username_key(username)
        HAVING count(*) > 1) d;
    IF n > 0 THEN
        RAISE EXCEPTION 'registrar 003: % usernames are each held by '
            'several registrations under the new username rule', n
            USING HINT = 'list them with SELECT service, jid, username FROM '
                '(SELECT *, count(*) OVER (PARTITION BY service, normalize('
                'lower(upper(normalize(username, NFKC) COLLATE "und-x-icu")), '
                'NFKC)) AS n FROM registrations WHERE username IS NOT NULL) d '
                'WHERE n > 1; rename or remove all but one of each, then '
                'migrate again';
    END IF;
END
$$;

DROP INDEX registrations_username_key;
CREATE UNIQUE INDEX registrations_username_key
    ON registrations (service, registrar_username_key(username))
    WHERE username IS NOT NULL;

ALTER TABLE registrations
    DROP CONSTRAINT registrations_username_not_blank,
    ADD CONSTRAINT registrations_username_valid
        CHECK (username IS NULL OR registrar_username_valid(username))
        NOT VALID;

-- Validated at once unless old rows break the rule: those stay until they
-- are changed, and an admin validates the constraint afterwards.
DO $$
DECLARE
    n bigint;
BEGIN
    SELECT count(*) INTO n FROM registrations
     WHERE NOT registrar_username_valid(username);
    IF n = 0 THEN
        ALTER TABLE registrations
            VALIDATE CONSTRAINT registrations_username_valid;
    ELSE
        RAISE NOTICE 'registrar 003: % existing usernames break the new '
            'username rule and are kept; find them with SELECT service, '
            'jid FROM registrations WHERE NOT registrar_username_valid('
            'username), change them, then ALTER TABLE registrations '
            'VALIDATE CONSTRAINT registrations_username_valid', n;
    END IF;
END
$$;
