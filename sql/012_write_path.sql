-- 012: the same rows, events and notifications for a fraction of the
-- database's CPU, and the id of its event for every registrar write.
--
-- Nothing a backend, an admin or a reader sees changes: the same rows, the
-- same events (kinds, details, origins), one NOTIFY registrar per commit
-- with the same payload, ids in commit order, the same trust rules
-- (sql/010).  What each write costs does:
--
-- 1. The trust test is a comparison, not a call.  010's event triggers
--    each called registrar_origin_trusted() in their WHEN, a SQL function
--    with SET search_path that PostgreSQL plans again for every statement
--    and runs twice per row.  Now the WHEN compares CURRENT_USER with the
--    name of the owner of registrations, written into the trigger by
--    registrar_trust_owner() here and by sql/roles.sql after it moves the
--    tables (a renamed owner: run registrar --migrate again; until then
--    every change is recorded as plain SQL's, with its db_user).  Same
--    test, same answer: the statement runs as the owner (inside an
--    owner's function, or an owner's session) or it does not.
--
-- 2. One statement per event, no trigger cascade.  The event of a change
--    of registrations is one INSERT built by the row trigger (the field
--    names diffed only when the fields differ, the consents only when they
--    differ), which also counts it for the notification's payload and
--    leaves its id to the write that caused it.  The per-row count
--    trigger of registration_events (registration_events_track) now fires
--    only for events inserted directly (pg_trigger_depth() = 0: the
--    owner's registrar_unban, SQL by the owner), not for those of the row
--    trigger, which counted them.  The trigger that runs for the owner's
--    statements (registrations_event_owner) is no SECURITY DEFINER: the
--    WHEN already made sure it runs as the owner; the one for other roles
--    (registrations_event, 'sql') still is, search_path pinned.
--
-- 3. The lock of commit order is taken in the WHEN of the statement
--    triggers (registrations_serialise, registration_events_serialise,
--    registration_bans_serialise) instead of by a plpgsql call: the same
--    transaction-scoped advisory lock, at the same moment (before the
--    statement locks a row or draws an id); the expression is never true,
--    so registrar_events_serialise() is no longer called.
--
-- 4. The username rule is planned once per session, not per statement.
--    The CHECK registrations_username_valid calls
--    registrar_username_valid(), a SQL function that PostgreSQL inlined
--    into the CHECK and planned again (its long expressions decompressed
--    and read) for every statement that wrote registrations, a username
--    or not.  It is plpgsql now, the same expressions, the key computed
--    once instead of twice; a NULL username never calls it.  Same
--    verdicts (tests/store/test_username.c: every code point).
--
-- 5. registrar's writes return their event: registrar_put_event,
--    registrar_remove_event, registrar_set_password_event,
--    registrar_set_state_event and registrar_unban_event take what the
--    functions of 010 take and return what they return plus event_id, the
--    id of the event the write left (NULL when it left none: an update
--    that changed nothing, a refused write).  registrar_put_event needs no
--    subtransaction: a username is checked by the rule's function and
--    looked up under the event writers' lock (every writer of
--    registrations holds it to its commit, so the answer cannot change
--    before the write), and the CHECK and the unique index still decide:
--    were either to refuse the write, the error would reach the caller
--    as before (a conflict: registrar's store answers it as one).  The
--    functions of 010 (registrar_put_checked, registrar_remove,
--    registrar_set_password, registrar_set_state_from, registrar_unban)
--    keep their signatures, owners and grants for registrar instances of
--    before 012 during an upgrade, and call the new ones.
--
-- The schema's name is written @schema@ (see 010).

-- ---- 4. the username rule, planned once ---------------------------------

-- Every name and operator qualified, and no SET (a SET would cost every
-- call what the inlining cost every statement): no search_path changes
-- what it says.
CREATE OR REPLACE FUNCTION @schema@.registrar_username_valid(username text)
    RETURNS boolean LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    k text := @schema@.registrar_username_key(username);
BEGIN
    RETURN k OPERATOR(pg_catalog.<>) ''
       AND username OPERATOR(pg_catalog.!~) (
           E'[\\u0001-\\u001F\\u007F-\\u009F'
           '\\u00AD\\u0600-\\u0605\\u061C\\u06DD\\u070F\\u0890\\u0891\\u08E2'
           '\\u180E\\u200B-\\u200F\\u202A-\\u202E\\u2060-\\u2064'
           '\\u2066-\\u206F\\uFEFF\\uFFF9-\\uFFFB\\U000110BD\\U000110CD'
           '\\U00013430-\\U0001343F\\U0001BCA0-\\U0001BCA3'
           '\\U0001D173-\\U0001D17A\\U000E0001\\U000E0020-\\U000E007F'
           '\\uFDD0-\\uFDEF\\uFFFE\\uFFFF\\U0001FFFE\\U0001FFFF'
           '\\U0002FFFE\\U0002FFFF\\U0003FFFE\\U0003FFFF\\U0004FFFE'
           '\\U0004FFFF\\U0005FFFE\\U0005FFFF\\U0006FFFE\\U0006FFFF'
           '\\U0007FFFE\\U0007FFFF\\U0008FFFE\\U0008FFFF\\U0009FFFE'
           '\\U0009FFFF\\U000AFFFE\\U000AFFFF\\U000BFFFE\\U000BFFFF'
           '\\U000CFFFE\\U000CFFFF\\U000DFFFE\\U000DFFFF\\U000EFFFE'
           '\\U000EFFFF\\U000FFFFE\\U000FFFFF\\U0010FFFE\\U0010FFFF'
           '\\u2028\\u2029]')
       AND username OPERATOR(pg_catalog.!~) (
           E'^[\\u0009-\\u000D\\u0020\\u0085\\u00A0\\u1680'
           '\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]'
           '|[\\u0009-\\u000D\\u0020\\u0085\\u00A0\\u1680'
           '\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]$')
       AND k OPERATOR(pg_catalog.!~) (E'^[\\u0009-\\u000D\\u0020'
           '\\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F'
           '\\u3000]|[\\u0009-\\u000D\\u0020\\u0085\\u00A0\\u1680'
           '\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]$');
END
$$;

-- ---- 2. the event of each change, in one statement -----------------------

-- One body, two functions: registrations_event (SECURITY DEFINER, for the
-- changes of other roles: TG_ARGV[0] 'sql', the origin settings ignored)
-- and registrations_event_owner (for the owner's statements: 'registrar',
-- the origin from the owner's functions' settings).  One SQL statement
-- per event, its INSERT: the names of what changed are found and sorted
-- by plpgsql's assignments and loops, which run no statement (a PERFORM
-- or a SELECT INTO is one, with an executor of its own; consents, rarely
-- given, still take a query).  Each event is counted in
-- registrar.events_count (the payload's count) and its id left in
-- registrar.event_id (read by the write functions below).
DO $do$
DECLARE
    body text := $body$
DECLARE
    trusted boolean := TG_ARGV[0] = 'registrar';
    op text;
    actor text;
    iq text;
    r @schema@.registrations;
    keys jsonb;
    k text;
    j integer;
    names text[] := '{}';
    changed jsonb;
    consented jsonb := '[]';
    ev text;
    detail jsonb;
    eid bigint;
    ignored text;
BEGIN
    IF TG_RELID <> '@schema@.registrations'::pg_catalog.regclass THEN
        RAISE EXCEPTION 'registrations_event: a trigger of registrations only'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF trusted THEN
        op := nullif(pg_catalog.current_setting('registrar.op', true), '');
        actor := nullif(pg_catalog.current_setting('registrar.actor', true),
                        '');
        iq := nullif(pg_catalog.current_setting('registrar.iq_id', true), '');
    END IF;
    IF TG_OP = 'DELETE' THEN
        r := OLD;
        ev := 'removed';
        detail := pg_catalog.jsonb_build_object('state', OLD.state);
        -- the user's own removal of a disabled registration leaves a ban
        -- (registrar_remove_event); 010's registrar_remove said so itself
        IF op = 'remove_ban' OR (op = 'remove_user' AND OLD.state = 'disabled')
        THEN
            detail := detail || '{"banned": true}'::jsonb;
        END IF;
    ELSE
        IF TG_OP = 'INSERT' THEN
            -- the field vars; the consents given
            keys := pg_catalog.jsonb_path_query_array(NEW.fields,
                                                      '$.keyvalue().key');
            FOR i IN 0 .. pg_catalog.jsonb_array_length(keys) - 1 LOOP
                names := names || (keys ->> i);
            END LOOP;
            IF NEW.consents <> '{}' THEN
                SELECT coalesce(pg_catalog.jsonb_agg(c ORDER BY c), '[]')
                  INTO consented
                  FROM pg_catalog.jsonb_object_keys(NEW.consents) c;
            END IF;
        ELSE
            -- an update that changed nothing but updated_at is no event
            -- (011), unless an admin set the state or the password was set
            IF op IS DISTINCT FROM 'set_state'
               AND op IS DISTINCT FROM 'set_password' THEN
                r := NEW;
                r.updated_at := OLD.updated_at;
                IF r IS NOT DISTINCT FROM OLD THEN
                    RETURN NULL;
                END IF;
            END IF;
            -- names only (never a value): every field var of either whose
            -- value differs, username, password; the consents given anew
            IF NEW.fields IS DISTINCT FROM OLD.fields THEN
                keys := pg_catalog.jsonb_path_query_array(
                    NEW.fields || OLD.fields, '$.keyvalue().key');
                FOR i IN 0 .. pg_catalog.jsonb_array_length(keys) - 1 LOOP
                    k := keys ->> i;
                    IF NEW.fields -> k IS DISTINCT FROM OLD.fields -> k THEN
                        names := names || k;
                    END IF;
                END LOOP;
            END IF;
            IF NEW.username IS DISTINCT FROM OLD.username
               AND NOT 'username' = ANY (names) THEN
                names := names || 'username'::text;
            END IF;
            IF NEW.password_hash IS DISTINCT FROM OLD.password_hash
               AND NOT 'password' = ANY (names) THEN
                names := names || 'password'::text;
            END IF;
            IF NEW.consents IS DISTINCT FROM OLD.consents THEN
                SELECT coalesce(pg_catalog.jsonb_agg(c ORDER BY c), '[]')
                  INTO consented
                  FROM pg_catalog.jsonb_object_keys(NEW.consents) c
                 WHERE NEW.consents -> c IS DISTINCT FROM OLD.consents -> c;
            END IF;
        END IF;
        -- in the order of 011's ORDER BY (text in the database's
        -- collation), without a query: an insertion sort of a few names
        FOR i IN 2 .. coalesce(pg_catalog.array_length(names, 1), 0) LOOP
            k := names[i];
            j := i - 1;
            WHILE j >= 1 AND names[j] > k LOOP
                names[j + 1] := names[j];
                j := j - 1;
            END LOOP;
            names[j + 1] := k;
        END LOOP;
        changed := pg_catalog.to_jsonb(names);
        r := NEW;
        IF TG_OP = 'INSERT' THEN
            ev := 'registered';
            detail := pg_catalog.jsonb_build_object('state', NEW.state,
                'fields', changed, 'consents', consented);
        ELSE
            IF NEW.state IS DISTINCT FROM OLD.state OR op = 'set_state' THEN
                ev := 'state_changed';
                detail := pg_catalog.jsonb_build_object('from', OLD.state,
                                                        'to', NEW.state);
                IF NEW.state = 'disabled'
                   AND NEW.disabled_reason IS NOT NULL THEN
                    detail := detail || pg_catalog.jsonb_build_object(
                        'reason', NEW.disabled_reason);
                END IF;
                IF changed <> '[]' THEN
                    detail := detail || pg_catalog.jsonb_build_object(
                        'changed', changed);
                END IF;
            ELSIF op = 'set_password' OR changed = '["password"]' THEN
                ev := 'password_changed';
                detail := '{}';
            ELSE
                ev := 'updated';
                detail := pg_catalog.jsonb_build_object('changed', changed);
            END IF;
            IF consented <> '[]' THEN
                detail := detail || pg_catalog.jsonb_build_object(
                    'consents', consented);
            END IF;
        END IF;
    END IF;
    -- who acted: an admin's actor; the database role of plain SQL
    IF actor IS NOT NULL THEN
        detail := detail || pg_catalog.jsonb_build_object('actor', actor);
    END IF;
    IF op IS NULL THEN
        detail := detail
                  || pg_catalog.jsonb_build_object('db_user', session_user);
    END IF;
    INSERT INTO @schema@.registration_events
           (service, jid, event, iq_id, detail)
    VALUES (r.service, r.jid, ev, iq, detail)
    RETURNING id INTO eid;
    ignored := pg_catalog.set_config('registrar.events_count',
                   (coalesce(nullif(pg_catalog.current_setting(
                        'registrar.events_count', true), ''), '0')::bigint
                    + 1)::text, true)
               || pg_catalog.set_config('registrar.event_id', eid::text,
                                        true);
    RETURN NULL;
END
$body$;
BEGIN
    EXECUTE 'CREATE OR REPLACE FUNCTION @schema@.registrations_event()'
            ' RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER'
            ' SET search_path = pg_catalog, pg_temp AS '
            || pg_catalog.quote_literal(body);
    EXECUTE 'CREATE FUNCTION @schema@.registrations_event_owner()'
            ' RETURNS trigger LANGUAGE plpgsql AS '
            || pg_catalog.quote_literal(body);
END
$do$;

COMMENT ON FUNCTION @schema@.registrations_event() IS
    'the event of a change of registrations by a role other than its owner';
COMMENT ON FUNCTION @schema@.registrations_event_owner() IS
    'the event of a change of registrations made as its owner (its '
    'functions): the origin from their settings';

-- ---- 1. the trust test, a comparison -------------------------------------

-- (Re)creates the two event triggers of registrations with the name of its
-- owner in their WHEN, when they do not have it yet.  Run here and by
-- sql/roles.sql (which moves the tables to registrar_owner); needs the
-- rights of the owner of registrations.
CREATE FUNCTION @schema@.registrar_trust_owner() RETURNS boolean
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    owner name := (SELECT pg_catalog.pg_get_userbyid(c.relowner)
                     FROM pg_catalog.pg_class c
                    WHERE c.oid = '@schema@.registrations'::regclass);
    want text := pg_catalog.format('(CURRENT_USER = %L::name)', owner);
BEGIN
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_trigger t
                WHERE t.tgrelid = '@schema@.registrations'::regclass
                  AND t.tgname = 'registrations_event'
                  AND pg_catalog.pg_get_triggerdef(t.oid)
                      LIKE '%WHEN (' || want || ')%'
                  AND t.tgfoid
                      = '@schema@.registrations_event_owner()'::regprocedure)
    THEN
        RETURN false; -- bound to that owner already
    END IF;
    DROP TRIGGER IF EXISTS registrations_event ON @schema@.registrations;
    DROP TRIGGER IF EXISTS registrations_event_sql ON @schema@.registrations;
    EXECUTE pg_catalog.format(
        'CREATE TRIGGER registrations_event'
        ' AFTER INSERT OR UPDATE OR DELETE ON @schema@.registrations'
        ' FOR EACH ROW WHEN (CURRENT_USER = %L::name)'
        ' EXECUTE FUNCTION @schema@.registrations_event_owner(''registrar'')',
        owner);
    EXECUTE pg_catalog.format(
        'CREATE TRIGGER registrations_event_sql'
        ' AFTER INSERT OR UPDATE OR DELETE ON @schema@.registrations'
        ' FOR EACH ROW WHEN (CURRENT_USER <> %L::name)'
        ' EXECUTE FUNCTION @schema@.registrations_event(''sql'')', owner);
    RETURN true;
END
$$;

COMMENT ON FUNCTION @schema@.registrar_trust_owner() IS
    'writes the name of the owner of registrations into the WHEN of its '
    'event triggers (sql/012); true when it changed them';

SELECT @schema@.registrar_trust_owner();

-- ---- 2. the count of direct inserts only ----------------------------------

DROP TRIGGER registration_events_track ON @schema@.registration_events;
CREATE TRIGGER registration_events_track
    AFTER INSERT ON @schema@.registration_events
    FOR EACH ROW WHEN (pg_catalog.pg_trigger_depth() = 0)
    EXECUTE FUNCTION @schema@.registration_events_track();

-- ---- 2. the notification, without a statement of its own ----------------

-- 010's, its pg_notify an assignment (a PERFORM ran a statement for every
-- event at commit).  The same payload, from the same sources.
CREATE OR REPLACE FUNCTION @schema@.registration_events_notify()
    RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    ignored text;
BEGIN
    IF TG_RELID <> '@schema@.registration_events'::regclass THEN
        RAISE EXCEPTION 'registration_events_notify: a trigger of '
            'registration_events only' USING ERRCODE = 'insufficient_privilege';
    END IF;
    ignored := pg_notify('registrar', jsonb_build_object(
        'id', currval('@schema@.registration_events_id_seq'::regclass),
        'count', coalesce(nullif(current_setting('registrar.events_count',
                                                 true), ''), '0')::bigint
    )::text)::text;
    RETURN NULL;
END
$$;

-- ---- trigger functions are for triggers ------------------------------------

-- A trigger runs its function whatever the rights of who fired it; EXECUTE
-- only lets a role put the function in a trigger of its own.  010 left it
-- to PUBLIC: any role could fire the SECURITY DEFINER event function from
-- a trigger of a temporary table of its own and write an event of its
-- choosing, origin included, as the owner.  Not any more (and both
-- definer functions check which table fired them).
REVOKE EXECUTE ON FUNCTION
    @schema@.registrations_event(),
    @schema@.registrations_event_owner(),
    @schema@.registration_events_notify(),
    @schema@.registration_events_track(),
    @schema@.registration_events_append_only(),
    @schema@.registrar_events_serialise(),
    @schema@.registrations_disabled_stamp()
    FROM PUBLIC;

-- ---- 3. the commit-order lock, in the WHEN --------------------------------

-- pg_advisory_xact_lock() returns void, whose text is '', never NULL: the
-- WHEN takes the lock and is false.
DROP TRIGGER registrations_serialise ON @schema@.registrations;
CREATE TRIGGER registrations_serialise
    BEFORE INSERT OR UPDATE OR DELETE ON @schema@.registrations
    FOR EACH STATEMENT
    WHEN (pg_catalog.pg_advisory_xact_lock(7454127761211159138)::text
          IS NULL)
    EXECUTE FUNCTION @schema@.registrar_events_serialise();
DROP TRIGGER registration_events_serialise ON @schema@.registration_events;
CREATE TRIGGER registration_events_serialise
    BEFORE INSERT ON @schema@.registration_events
    FOR EACH STATEMENT
    WHEN (pg_catalog.pg_advisory_xact_lock(7454127761211159138)::text
          IS NULL)
    EXECUTE FUNCTION @schema@.registrar_events_serialise();
DROP TRIGGER registration_bans_serialise ON @schema@.registration_bans;
CREATE TRIGGER registration_bans_serialise
    BEFORE INSERT OR UPDATE OR DELETE ON @schema@.registration_bans
    FOR EACH STATEMENT
    WHEN (pg_catalog.pg_advisory_xact_lock(7454127761211159138)::text
          IS NULL)
    EXECUTE FUNCTION @schema@.registrar_events_serialise();

-- ---- 5. registrar's writes, with their event ------------------------------

-- registrar_put_checked (010) with the id of its event:
--   outcome   'created' | 'updated' | 'disabled' | 'banned' | 'conflict'
--           | 'invalid' (the last four: nothing written)
--   reason    the admin's reason for 'disabled' and 'banned', or NULL
--   event_id  the event of the write; NULL when it wrote none
CREATE FUNCTION @schema@.registrar_put_event(p_service text, p_jid text,
                                             p_username text,
                                             p_fields jsonb,
                                             p_password_hash text,
                                             p_state text,
                                             p_consents jsonb,
                                             p_iq_id text, p_actor text,
                                             p_keep text[],
                                             OUT outcome text,
                                             OUT reason text,
                                             OUT event_id bigint)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    created boolean;
    no_consents boolean := p_consents IS NULL OR p_consents = '{}'::jsonb;
    no_keep boolean := p_keep IS NULL OR cardinality(p_keep) = 0;
    username_ok boolean := true;
    ignored text;
BEGIN
    -- (assignments, not PERFORM: no statement of their own)
    ignored := set_config('registrar.iq_id', coalesce(p_iq_id, ''), true)
               || set_config('registrar.actor', coalesce(p_actor, ''), true)
               || set_config('registrar.op', 'put', true)
               || set_config('registrar.event_id', '', true)
    -- the ban, the username and the row are read under the lock that
    -- every writer of registrations and bans holds to its commit
               || pg_advisory_xact_lock(7454127761211159138)::text;
    -- a write the username rule or the unique index would refuse is not
    -- tried (nor one the ban refuses, below): nothing is written, and why
    -- is found after
    IF p_username IS NOT NULL THEN
        username_ok := @schema@.registrar_username_valid(p_username)
            AND NOT EXISTS (
                SELECT 1 FROM @schema@.registrations u
                 WHERE u.service = p_service
                   AND @schema@.registrar_username_key(u.username)
                       = @schema@.registrar_username_key(p_username)
                   AND u.username IS NOT NULL
                   AND u.jid <> p_jid);
    END IF;
    -- An update first, then an insert when there was no row: under the
    -- lock no other writer can insert it in between, so this is what
    -- INSERT ... ON CONFLICT DO UPDATE does, without a speculative
    -- insertion for every update (the indexes still decide).
    IF no_keep AND no_consents THEN
        -- the common update, without the subqueries it does not need
        UPDATE @schema@.registrations AS r
           SET username = p_username,
               fields = p_fields,
               password_hash = coalesce(p_password_hash, r.password_hash),
               updated_at = now()
         WHERE r.service = p_service AND r.jid = p_jid
           AND r.state <> 'disabled'
           AND username_ok
           AND NOT EXISTS (SELECT 1 FROM @schema@.registration_bans b
                            WHERE b.service = p_service AND b.jid = p_jid);
    ELSE
        UPDATE @schema@.registrations AS r
           SET username = p_username,
               fields = CASE WHEN no_keep THEN p_fields
                   ELSE p_fields || coalesce(
                       (SELECT jsonb_object_agg(k.key, k.value)
                          FROM jsonb_each(r.fields) k
                         WHERE k.key = ANY (p_keep)
                           AND NOT p_fields ? k.key), '{}'::jsonb)
                   END,
               password_hash = coalesce(p_password_hash, r.password_hash),
               consents = CASE WHEN no_consents THEN r.consents
                   ELSE @schema@.registrar_consents_merge(r.consents,
                                                          p_consents)
                   END,
               updated_at = now()
         WHERE r.service = p_service AND r.jid = p_jid
           AND r.state <> 'disabled'
           AND username_ok
           AND NOT EXISTS (SELECT 1 FROM @schema@.registration_bans b
                            WHERE b.service = p_service AND b.jid = p_jid);
    END IF;
    IF FOUND THEN
        created := false;
    ELSE
        -- a row there is disabled: nothing written, explained below
        INSERT INTO @schema@.registrations
               (service, jid, username, fields, password_hash, state,
                consents)
        SELECT p_service, p_jid, p_username, p_fields, p_password_hash,
               coalesce(p_state, 'active'),
               CASE WHEN no_consents THEN '{}'::jsonb
                    ELSE @schema@.registrar_consents_merge('{}'::jsonb,
                                                           p_consents) END
         WHERE username_ok
           AND NOT EXISTS (SELECT 1 FROM @schema@.registration_bans b
                            WHERE b.service = p_service AND b.jid = p_jid)
        ON CONFLICT (service, jid) DO NOTHING
        RETURNING true INTO created;
    END IF;
    IF created IS NOT NULL THEN
        outcome := CASE WHEN created THEN 'created' ELSE 'updated' END;
        event_id := nullif(current_setting('registrar.event_id'), '')::bigint;
    ELSE
        -- why nothing was written, in 010's order: the ban, the state,
        -- the username rule (the CHECK), the username's owner (the index)
        SELECT 'banned', b.reason INTO outcome, reason
          FROM @schema@.registration_bans b
         WHERE b.service = p_service AND b.jid = p_jid;
        IF NOT FOUND THEN
            SELECT 'disabled', d.disabled_reason INTO outcome, reason
              FROM @schema@.registrations d
             WHERE d.service = p_service AND d.jid = p_jid
               AND d.state = 'disabled';
        END IF;
        IF NOT FOUND AND p_username IS NULL THEN
            RAISE EXCEPTION 'registrar_put_event: nothing written, and '
                'neither a ban, a state nor a username says why';
        ELSIF NOT FOUND THEN
            outcome := CASE WHEN @schema@.registrar_username_valid(p_username)
                            THEN 'conflict' ELSE 'invalid' END;
        END IF;
    END IF;
    ignored := set_config('registrar.iq_id', '', true)
               || set_config('registrar.actor', '', true)
               || set_config('registrar.op', '', true);
END
$$;

-- registrar_remove (010) with the id of its event ('removed').
CREATE FUNCTION @schema@.registrar_remove_event(p_service text, p_jid text,
                                                p_iq_id text, p_actor text,
                                                OUT done boolean,
                                                OUT event_id bigint)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    gone @schema@.registrations;
    ignored text;
BEGIN
    -- 'remove_user': the user's own removal, which bans a disabled
    -- registration (the event trigger says so when the row deleted was)
    ignored := pg_advisory_xact_lock(7454127761211159138)::text
               || set_config('registrar.iq_id', coalesce(p_iq_id, ''), true)
               || set_config('registrar.actor', coalesce(p_actor, ''), true)
               || set_config('registrar.event_id', '', true)
               || set_config('registrar.op',
                      CASE WHEN p_actor IS NULL THEN 'remove_user'
                           ELSE 'remove' END, true);
    DELETE FROM @schema@.registrations
     WHERE service = p_service AND jid = p_jid
    RETURNING * INTO gone;
    done := gone.service IS NOT NULL;
    IF done AND p_actor IS NULL AND gone.state = 'disabled' THEN
        INSERT INTO @schema@.registration_bans
               (service, jid, since, actor, reason)
        VALUES (p_service, p_jid, coalesce(gone.disabled_at, now()),
                gone.disabled_by, gone.disabled_reason)
        ON CONFLICT (service, jid) DO NOTHING;
    END IF;
    event_id := nullif(current_setting('registrar.event_id'), '')::bigint;
    ignored := set_config('registrar.iq_id', '', true)
               || set_config('registrar.actor', '', true)
               || set_config('registrar.op', '', true);
END
$$;

-- registrar_set_password (010) with the id of its event
-- ('password_changed'); done NULL: disabled, nothing written.
CREATE FUNCTION @schema@.registrar_set_password_event(p_service text,
                                                      p_jid text,
                                                      p_password_hash text,
                                                      p_iq_id text,
                                                      p_actor text,
                                                      OUT done boolean,
                                                      OUT event_id bigint)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    ignored text;
BEGIN
    ignored := set_config('registrar.iq_id', coalesce(p_iq_id, ''), true)
               || set_config('registrar.actor', coalesce(p_actor, ''), true)
               || set_config('registrar.op', 'set_password', true)
               || set_config('registrar.event_id', '', true);
    UPDATE @schema@.registrations
       SET password_hash = p_password_hash, updated_at = now()
     WHERE service = p_service AND jid = p_jid AND state <> 'disabled';
    done := FOUND;
    event_id := nullif(current_setting('registrar.event_id'), '')::bigint;
    ignored := set_config('registrar.iq_id', '', true)
               || set_config('registrar.actor', '', true)
               || set_config('registrar.op', '', true);
    IF NOT done AND EXISTS (SELECT 1 FROM @schema@.registrations
                              WHERE service = p_service AND jid = p_jid) THEN
        done := NULL; -- disabled: nothing written
    END IF;
END
$$;

-- registrar_set_state_from (010) with the id of its event
-- ('state_changed'); done NULL: in another state than p_from.
CREATE FUNCTION @schema@.registrar_set_state_event(p_service text,
                                                   p_jid text,
                                                   p_state text,
                                                   p_from text,
                                                   p_iq_id text,
                                                   p_actor text,
                                                   p_reason text,
                                                   OUT done boolean,
                                                   OUT event_id bigint)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    ignored text;
BEGIN
    ignored := set_config('registrar.iq_id', coalesce(p_iq_id, ''), true)
               || set_config('registrar.actor', coalesce(p_actor, ''), true)
               || set_config('registrar.op', 'set_state', true)
               || set_config('registrar.event_id', '', true);
    UPDATE @schema@.registrations
       SET state = p_state, updated_at = now(),
           disabled_at = CASE WHEN p_state = 'disabled'
                              THEN coalesce(disabled_at, now()) END,
           disabled_by = CASE WHEN p_state = 'disabled' THEN p_actor END,
           disabled_reason = CASE WHEN p_state = 'disabled' THEN p_reason END
     WHERE service = p_service AND jid = p_jid
       AND (p_from IS NULL OR state = p_from);
    done := FOUND;
    event_id := nullif(current_setting('registrar.event_id'), '')::bigint;
    ignored := set_config('registrar.iq_id', '', true)
               || set_config('registrar.actor', '', true)
               || set_config('registrar.op', '', true);
    IF NOT done AND EXISTS (SELECT 1 FROM @schema@.registrations
                              WHERE service = p_service AND jid = p_jid) THEN
        done := NULL; -- in another state: nothing written
    END IF;
END
$$;

-- registrar_unban (010) with the id of its event ('ban_lifted').
CREATE FUNCTION @schema@.registrar_unban_event(p_service text, p_jid text,
                                               p_iq_id text, p_actor text,
                                               OUT done boolean,
                                               OUT event_id bigint)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    gone @schema@.registration_bans;
BEGIN
    DELETE FROM @schema@.registration_bans
     WHERE service = p_service AND jid = p_jid
    RETURNING * INTO gone;
    done := gone.service IS NOT NULL;
    IF done THEN
        INSERT INTO @schema@.registration_events
               (service, jid, event, iq_id, detail)
        VALUES (p_service, p_jid, 'ban_lifted', p_iq_id,
                jsonb_strip_nulls(jsonb_build_object(
                    'since', gone.since, 'reason', gone.reason,
                    'actor', p_actor,
                    'db_user', CASE WHEN p_actor IS NULL THEN session_user
                               END)))
        RETURNING id INTO event_id;
    END IF;
END
$$;

-- ---- 010's interface, for registrar instances of before 012 ---------------

CREATE OR REPLACE FUNCTION @schema@.registrar_put_checked(p_service text,
                                                         p_jid text,
                                                         p_username text,
                                                         p_fields jsonb,
                                                         p_password_hash text,
                                                         p_state text,
                                                         p_consents jsonb,
                                                         p_iq_id text,
                                                         p_actor text,
                                                         p_keep text[],
                                                         OUT outcome text,
                                                         OUT reason text)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    SELECT e.outcome, e.reason INTO outcome, reason
      FROM @schema@.registrar_put_event(p_service, p_jid, p_username,
               p_fields, p_password_hash, p_state, p_consents, p_iq_id,
               p_actor, p_keep) e;
END
$$;

CREATE OR REPLACE FUNCTION @schema@.registrar_remove(p_service text,
                                                    p_jid text,
                                                    p_iq_id text,
                                                    p_actor text)
    RETURNS boolean LANGUAGE sql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
RETURN (SELECT e.done FROM @schema@.registrar_remove_event(p_service, p_jid,
                                                           p_iq_id, p_actor) e);

CREATE OR REPLACE FUNCTION @schema@.registrar_set_password(p_service text,
                                                          p_jid text,
                                                          p_password_hash text,
                                                          p_iq_id text,
                                                          p_actor text)
    RETURNS boolean LANGUAGE sql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
RETURN (SELECT e.done
          FROM @schema@.registrar_set_password_event(p_service, p_jid,
                   p_password_hash, p_iq_id, p_actor) e);

CREATE OR REPLACE FUNCTION @schema@.registrar_set_state_from(p_service text,
                                                            p_jid text,
                                                            p_state text,
                                                            p_from text,
                                                            p_iq_id text,
                                                            p_actor text,
                                                            p_reason text)
    RETURNS boolean LANGUAGE sql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
RETURN (SELECT e.done
          FROM @schema@.registrar_set_state_event(p_service, p_jid, p_state,
                   p_from, p_iq_id, p_actor, p_reason) e);

CREATE OR REPLACE FUNCTION @schema@.registrar_unban(p_service text,
                                                   p_jid text,
                                                   p_iq_id text,
                                                   p_actor text)
    RETURNS boolean LANGUAGE sql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
RETURN (SELECT e.done FROM @schema@.registrar_unban_event(p_service, p_jid,
                                                          p_iq_id, p_actor) e);

-- Until sql/roles.sql runs after this migration (in the same
-- registrar --migrate), the new functions belong to the role that
-- migrates: nobody else may run them meanwhile, and registrar's role may
-- once it has its grants.
REVOKE EXECUTE ON FUNCTION
    @schema@.registrar_put_event(text, text, text, jsonb, text, text, jsonb,
                                 text, text, text[]),
    @schema@.registrar_remove_event(text, text, text, text),
    @schema@.registrar_set_password_event(text, text, text, text, text),
    @schema@.registrar_set_state_event(text, text, text, text, text, text,
                                       text),
    @schema@.registrar_unban_event(text, text, text, text),
    @schema@.registrar_trust_owner()
    FROM PUBLIC;
