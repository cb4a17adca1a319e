-- 010: a contract safe to share with other database roles.
--
-- The schema's name is written @schema@ here: registrar puts the quoted
-- name of the schema it migrates (current_schema()) in its place, so that
-- every function below names every table, function and sequence with its
-- schema and runs with search_path pinned to pg_catalog, pg_temp.
--
-- 1. Nothing a role of its own can put in its path runs as the owner.
--    Every SECURITY DEFINER function (the event trigger, the notification,
--    registrar's write functions and the admin functions below) has
--    SET search_path = pg_catalog, pg_temp, and names every object of
--    registrar with its schema (005's trigger resolved
--    "registration_events" through the caller's pg_temp).
--
-- 2. Nothing a session can set decides who an event says acted.  The
--    origin of an event (iq_id, actor, op) is read from registrar.*
--    settings only when the statement that changed the row runs as the
--    owner of registrations, i.e. inside one of the owner's functions,
--    which set those settings themselves; a change by any other role
--    (plain SQL) records db_user (session_user) and no actor nor iq_id,
--    whatever registrar.* it set.  The NOTIFY of a commit no longer
--    depends on a setting either: it is queued for every event row and
--    PostgreSQL delivers the identical payloads of one transaction once.
--    The payload carries ids and counts only ({"id", "count"}; "id" from
--    the session's sequence position, which no setting changes): any role
--    that can connect may LISTEN, so rows are read with the reader's own
--    rights.
--
-- 3. Moderation that holds.  A user who removes a disabled registration
--    erases its data but leaves a ban on (service, jid)
--    (registration_bans: since, actor, reason), and a registration from a
--    banned JID is refused ('banned') by registrar_put_checked under the
--    event writers' lock, so that a ban and a registration racing from two
--    instances never both win.  An admin's disable may carry a reason
--    (registrations.disabled_reason), shown to the user and recorded in
--    the event; registrar_unban (registrar's reenable-user) and
--    registrar_lift_ban (SQL) lift a ban.  Events 'banned' is not a kind:
--    the removal is a 'removed' event with "banned": true; lifting is a
--    'ban_lifted' event.
--
-- Who may do what (the owner role, registrar's own role, the readers,
-- backends and admins) is not here: sql/roles.sql, applied after the
-- migrations by a role that may create roles.

-- ---- the trust test -----------------------------------------------------

-- True when the statement being run runs as the owner of registrations:
-- inside an owner's function (SECURITY DEFINER), or a session of the owner
-- itself.  Evaluated in the WHEN of the event triggers, as the role of the
-- statement.
CREATE FUNCTION @schema@.registrar_origin_trusted() RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
RETURN (SELECT pg_catalog.pg_get_userbyid(c.relowner) = CURRENT_USER
          FROM pg_catalog.pg_class c
         WHERE c.oid = '@schema@.registrations'::pg_catalog.regclass);

COMMENT ON FUNCTION @schema@.registrar_origin_trusted() IS
    'true when the current statement runs as the owner of registrations';

-- ---- moderation: reasons and bans ---------------------------------------

ALTER TABLE @schema@.registrations
    ADD COLUMN disabled_at timestamptz,
    ADD COLUMN disabled_by text,
    ADD COLUMN disabled_reason text,
    ADD CONSTRAINT registrations_disabled_reason_length
        CHECK (char_length(disabled_reason) <= 1024);

COMMENT ON COLUMN @schema@.registrations.disabled_reason IS
    'why an admin or the backend disabled it (shown to the user); '
    'meaningful while state = ''disabled''';

CREATE TABLE @schema@.registration_bans (
    service text        NOT NULL,
    jid     text        NOT NULL,
    since   timestamptz NOT NULL DEFAULT now(),
    actor   text,
    reason  text,
    CONSTRAINT registration_bans_pkey PRIMARY KEY (service, jid),
    CONSTRAINT registration_bans_reason_length
        CHECK (char_length(reason) <= 1024)
);

COMMENT ON TABLE @schema@.registration_bans IS
    'JIDs that may not register again with a service: a disabled '
    'registration its user removed';

ALTER TABLE @schema@.registration_events
    DROP CONSTRAINT registration_events_event_valid,
    ADD CONSTRAINT registration_events_event_valid
        CHECK (event IN ('registered', 'updated', 'password_changed',
                         'removed', 'state_changed', 'ban_lifted'));

-- The disabled_* columns follow the state, whoever changes it: set when a
-- row becomes disabled (by, only from the owner's functions; reason, when
-- the change gave one), cleared when it leaves that state.
CREATE FUNCTION @schema@.registrations_disabled_stamp() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NEW.state = 'disabled' THEN
        NEW.disabled_at := now();
        IF NOT @schema@.registrar_origin_trusted()
           OR NEW.disabled_by IS NOT DISTINCT FROM OLD.disabled_by THEN
            NEW.disabled_by := NULL;
        END IF;
        IF NEW.disabled_reason IS NOT DISTINCT FROM OLD.disabled_reason THEN
            NEW.disabled_reason := NULL;
        END IF;
    ELSE
        NEW.disabled_at := NULL;
        NEW.disabled_by := NULL;
        NEW.disabled_reason := NULL;
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER registrations_disabled_stamp
    BEFORE UPDATE OF state ON @schema@.registrations
    FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM NEW.state)
    EXECUTE FUNCTION @schema@.registrations_disabled_stamp();

-- ---- the commit-order lock, qualified ------------------------------------

CREATE OR REPLACE FUNCTION @schema@.registrar_events_serialise()
    RETURNS trigger LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM pg_catalog.pg_advisory_xact_lock(7454127761211159138);
    RETURN NULL;
END
$$;

CREATE TRIGGER registration_bans_serialise
    BEFORE INSERT OR UPDATE OR DELETE ON @schema@.registration_bans
    FOR EACH STATEMENT
    EXECUTE FUNCTION @schema@.registrar_events_serialise();

-- ---- the event of each change ------------------------------------------

-- TG_ARGV[0]: 'registrar' when the change ran as the owner (the origin
-- settings are its own functions'), 'sql' otherwise (they are ignored).
DROP TRIGGER registrations_event ON @schema@.registrations;
DROP FUNCTION @schema@.registrations_event();

CREATE FUNCTION @schema@.registrations_event() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    trusted boolean := TG_ARGV[0] = 'registrar';
    op text;
    actor text;
    iq text;
    r @schema@.registrations;
    ev text;
    detail jsonb := '{}'::jsonb;
    changed jsonb;
    consented jsonb;
BEGIN
    IF trusted THEN
        op := nullif(current_setting('registrar.op', true), '');
        actor := nullif(current_setting('registrar.actor', true), '');
        iq := nullif(current_setting('registrar.iq_id', true), '');
    END IF;
    IF TG_OP = 'INSERT' THEN
        r := NEW;
        ev := 'registered';
        detail := jsonb_build_object('state', NEW.state,
            'fields', (SELECT coalesce(jsonb_agg(k ORDER BY k), '[]')
                         FROM jsonb_object_keys(NEW.fields) k),
            'consents', (SELECT coalesce(jsonb_agg(k ORDER BY k), '[]')
                           FROM jsonb_object_keys(NEW.consents) k));
    ELSIF TG_OP = 'DELETE' THEN
        r := OLD;
        ev := 'removed';
        detail := jsonb_build_object('state', OLD.state);
        IF op = 'remove_ban' THEN
            detail := detail || jsonb_build_object('banned', true);
        END IF;
    ELSE
        -- a plain UPDATE that changed nothing is no event
        IF NEW IS NOT DISTINCT FROM OLD AND op IS NULL THEN
            RETURN NULL;
        END IF;
        r := NEW;
        -- names only: field vars, username, password; never a value
        SELECT coalesce(jsonb_agg(DISTINCT name ORDER BY name), '[]')
          INTO changed
          FROM (SELECT coalesce(n.key, o.key) AS name
                  FROM jsonb_each(NEW.fields) n
                  FULL JOIN jsonb_each(OLD.fields) o ON n.key = o.key
                 WHERE n.value IS DISTINCT FROM o.value
                UNION ALL
                SELECT 'username'
                 WHERE NEW.username IS DISTINCT FROM OLD.username
                UNION ALL
                SELECT 'password'
                 WHERE NEW.password_hash IS DISTINCT FROM OLD.password_hash) c;
        SELECT coalesce(jsonb_agg(n.key ORDER BY n.key), '[]')
          INTO consented
          FROM jsonb_each(NEW.consents) n
         WHERE n.value IS DISTINCT FROM OLD.consents -> n.key;
        IF NEW.state IS DISTINCT FROM OLD.state OR op = 'set_state' THEN
            ev := 'state_changed';
            detail := jsonb_build_object('from', OLD.state, 'to', NEW.state);
            IF NEW.state = 'disabled' AND NEW.disabled_reason IS NOT NULL
            THEN
                detail := detail
                          || jsonb_build_object('reason', NEW.disabled_reason);
            END IF;
            IF changed <> '[]' THEN
                detail := detail || jsonb_build_object('changed', changed);
            END IF;
        ELSIF op = 'set_password' OR changed = '["password"]' THEN
            ev := 'password_changed';
        ELSE
            ev := 'updated';
            detail := jsonb_build_object('changed', changed);
        END IF;
        IF consented <> '[]' THEN
            detail := detail || jsonb_build_object('consents', consented);
        END IF;
    END IF;
    IF actor IS NOT NULL THEN
        detail := detail || jsonb_build_object('actor', actor);
    END IF;
    IF op IS NULL THEN -- plain SQL: which database role
        detail := detail || jsonb_build_object('db_user', session_user);
    END IF;
    INSERT INTO @schema@.registration_events
           (service, jid, event, iq_id, detail)
    VALUES (r.service, r.jid, ev, iq, detail);
    RETURN NULL;
END
$$;

CREATE TRIGGER registrations_event
    AFTER INSERT OR UPDATE OR DELETE ON @schema@.registrations
    FOR EACH ROW WHEN (@schema@.registrar_origin_trusted())
    EXECUTE FUNCTION @schema@.registrations_event('registrar');
CREATE TRIGGER registrations_event_sql
    AFTER INSERT OR UPDATE OR DELETE ON @schema@.registrations
    FOR EACH ROW WHEN (NOT @schema@.registrar_origin_trusted())
    EXECUTE FUNCTION @schema@.registrations_event('sql');

-- ---- one NOTIFY per commit, that no setting suppresses ------------------

-- The count of the transaction's events, for the payload (a hint: a
-- session may have set it before its first event; the id is not).
CREATE OR REPLACE FUNCTION @schema@.registration_events_track()
    RETURNS trigger LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM set_config('registrar.events_count',
        (coalesce(nullif(current_setting('registrar.events_count', true),
                         ''), '0')::bigint + 1)::text, true);
    RETURN NULL;
END
$$;

-- At commit, for every event row, one identical payload: the session's
-- last event id (the highest of the transaction: ids are drawn in order
-- under the lock) and the count.  Runs as the owner, who may read the
-- sequence's position.
DROP TRIGGER registration_events_notify ON @schema@.registration_events;
DROP FUNCTION @schema@.registration_events_notify();

CREATE FUNCTION @schema@.registration_events_notify() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM pg_notify('registrar', jsonb_build_object(
        'id', currval('@schema@.registration_events_id_seq'::regclass),
        'count', coalesce(nullif(current_setting('registrar.events_count',
                                                 true), ''), '0')::bigint
    )::text);
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER registration_events_notify
    AFTER INSERT ON @schema@.registration_events
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION @schema@.registration_events_notify();

-- ---- append-only, qualified ---------------------------------------------

CREATE OR REPLACE FUNCTION @schema@.registration_events_append_only()
    RETURNS trigger LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'TRUNCATE')
       AND current_setting('registrar.maintenance', true) = 'on' THEN
        IF TG_LEVEL = 'ROW' THEN
            RETURN OLD;
        END IF;
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'registration_events is append-only'
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'to forget a JID or purge old events use '
                     'registrar_forget_jid() or registrar_purge_events()';
END
$$;

-- ---- registrar's writes: the owner's functions ----------------------------

CREATE OR REPLACE FUNCTION @schema@.registrar_consents_merge(consents jsonb,
                                                            given jsonb)
    RETURNS jsonb LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
RETURN coalesce(consents, '{}'::jsonb) || coalesce((
    SELECT jsonb_object_agg(g.key, jsonb_build_object(
               'version', g.value #>> '{}', 'at', now()))
      FROM jsonb_each(given) g
     WHERE consents -> g.key ->> 'version' IS DISTINCT FROM g.value #>> '{}'),
    '{}'::jsonb);

-- registrar_put_outcome (008, 009) with the ban and the reason:
--   outcome  'created' | 'updated' | 'disabled' (nothing written)
--          | 'banned' (nothing written) | 'conflict' | 'invalid'
--   reason   the admin's reason for 'disabled' and 'banned', or NULL
CREATE FUNCTION @schema@.registrar_put_checked(p_service text, p_jid text,
                                               p_username text,
                                               p_fields jsonb,
                                               p_password_hash text,
                                               p_state text,
                                               p_consents jsonb,
                                               p_iq_id text, p_actor text,
                                               p_keep text[],
                                               OUT outcome text,
                                               OUT reason text)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    created boolean;
    cons text;
    no_consents boolean := p_consents IS NULL OR p_consents = '{}'::jsonb;
    no_keep boolean := p_keep IS NULL OR cardinality(p_keep) = 0;
BEGIN
    PERFORM set_config('registrar.iq_id', coalesce(p_iq_id, ''), true),
            set_config('registrar.actor', coalesce(p_actor, ''), true),
            set_config('registrar.op', 'put', true);
    -- the ban is read under the lock that its writer holds to its commit
    PERFORM pg_advisory_xact_lock(7454127761211159138);
    SELECT 'banned', b.reason INTO outcome, reason
      FROM @schema@.registration_bans b
     WHERE b.service = p_service AND b.jid = p_jid;
    IF NOT FOUND THEN
        BEGIN
            INSERT INTO @schema@.registrations AS r
                   (service, jid, username, fields, password_hash, state,
                    consents)
            VALUES (p_service, p_jid, p_username, p_fields, p_password_hash,
                    coalesce(p_state, 'active'),
                    CASE WHEN no_consents THEN '{}'::jsonb
                         ELSE @schema@.registrar_consents_merge('{}'::jsonb,
                                                                p_consents)
                    END)
            ON CONFLICT (service, jid) DO UPDATE SET
                   username = EXCLUDED.username,
                   fields = CASE WHEN no_keep THEN EXCLUDED.fields
                       ELSE EXCLUDED.fields || coalesce(
                           (SELECT jsonb_object_agg(k.key, k.value)
                              FROM jsonb_each(r.fields) k
                             WHERE k.key = ANY (p_keep)
                               AND NOT EXCLUDED.fields ? k.key), '{}'::jsonb)
                       END,
                   password_hash = coalesce(EXCLUDED.password_hash,
                                            r.password_hash),
                   consents = CASE WHEN no_consents THEN r.consents
                       ELSE @schema@.registrar_consents_merge(r.consents,
                                                              p_consents)
                       END,
                   updated_at = now()
             WHERE r.state <> 'disabled'
            RETURNING (xmax = 0) INTO created;
            IF created IS NULL THEN
                outcome := 'disabled';
                SELECT d.disabled_reason INTO reason
                  FROM @schema@.registrations d
                 WHERE d.service = p_service AND d.jid = p_jid;
            ELSE
                outcome := CASE WHEN created THEN 'created' ELSE 'updated'
                           END;
            END IF;
        EXCEPTION
            WHEN unique_violation THEN
                outcome := 'conflict';
            WHEN check_violation THEN
                GET STACKED DIAGNOSTICS cons = CONSTRAINT_NAME;
                IF cons IS DISTINCT FROM 'registrations_username_valid' THEN
                    RAISE;
                END IF;
                outcome := 'invalid';
        END;
    END IF;
    PERFORM set_config('registrar.iq_id', '', true),
            set_config('registrar.actor', '', true),
            set_config('registrar.op', '', true);
END
$$;

-- 008's interface, for registrar instances of before 010 during an
-- upgrade: a ban answers 'disabled'.
CREATE OR REPLACE FUNCTION @schema@.registrar_put_outcome(p_service text,
                                                         p_jid text,
                                                         p_username text,
                                                         p_fields jsonb,
                                                         p_password_hash text,
                                                         p_state text,
                                                         p_consents jsonb,
                                                         p_iq_id text,
                                                         p_actor text,
                                                         p_keep text[])
    RETURNS text LANGUAGE sql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
RETURN (SELECT CASE c.outcome WHEN 'banned' THEN 'disabled'
                              ELSE c.outcome END
          FROM @schema@.registrar_put_checked(p_service, p_jid, p_username,
                   p_fields, p_password_hash, p_state, p_consents, p_iq_id,
                   p_actor, p_keep) c);

-- Removes (service, jid); true when there was a registration.  The user's
-- own removal (no actor) of a disabled registration leaves a ban with the
-- disable's time, actor and reason.
CREATE OR REPLACE FUNCTION @schema@.registrar_remove(p_service text,
                                                    p_jid text,
                                                    p_iq_id text,
                                                    p_actor text)
    RETURNS boolean LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    gone @schema@.registrations;
BEGIN
    -- the state read here is the one deleted: every writer of
    -- registrations holds this lock to its commit
    PERFORM pg_advisory_xact_lock(7454127761211159138);
    PERFORM set_config('registrar.iq_id', coalesce(p_iq_id, ''), true),
            set_config('registrar.actor', coalesce(p_actor, ''), true),
            set_config('registrar.op',
                CASE WHEN p_actor IS NULL AND EXISTS (
                         SELECT 1 FROM @schema@.registrations
                          WHERE service = p_service AND jid = p_jid
                            AND state = 'disabled')
                     THEN 'remove_ban' ELSE 'remove' END, true);
    DELETE FROM @schema@.registrations
     WHERE service = p_service AND jid = p_jid
    RETURNING * INTO gone;
    IF FOUND AND p_actor IS NULL AND gone.state = 'disabled' THEN
        INSERT INTO @schema@.registration_bans
               (service, jid, since, actor, reason)
        VALUES (p_service, p_jid, coalesce(gone.disabled_at, now()),
                gone.disabled_by, gone.disabled_reason)
        ON CONFLICT (service, jid) DO NOTHING;
    END IF;
    PERFORM set_config('registrar.iq_id', '', true),
            set_config('registrar.actor', '', true),
            set_config('registrar.op', '', true);
    RETURN gone.service IS NOT NULL;
END
$$;

CREATE OR REPLACE FUNCTION @schema@.registrar_set_password(p_service text,
                                                          p_jid text,
                                                          p_password_hash text,
                                                          p_iq_id text,
                                                          p_actor text)
    RETURNS boolean LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    found_it boolean;
BEGIN
    PERFORM set_config('registrar.iq_id', coalesce(p_iq_id, ''), true),
            set_config('registrar.actor', coalesce(p_actor, ''), true),
            set_config('registrar.op', 'set_password', true);
    UPDATE @schema@.registrations
       SET password_hash = p_password_hash, updated_at = now()
     WHERE service = p_service AND jid = p_jid AND state <> 'disabled';
    found_it := FOUND;
    PERFORM set_config('registrar.iq_id', '', true),
            set_config('registrar.actor', '', true),
            set_config('registrar.op', '', true);
    IF NOT found_it AND EXISTS (SELECT 1 FROM @schema@.registrations
                                 WHERE service = p_service
                                   AND jid = p_jid) THEN
        RETURN NULL; -- disabled: nothing written
    END IF;
    RETURN found_it;
END
$$;

-- An admin's action, from the state p_from (NULL: any), with a reason for
-- a disable (NULL: none; ignored for other states): an event even when the
-- state was already that one; NULL when the row is in another state than
-- p_from, false when there is no row.
CREATE FUNCTION @schema@.registrar_set_state_from(p_service text,
                                                  p_jid text,
                                                  p_state text,
                                                  p_from text,
                                                  p_iq_id text,
                                                  p_actor text,
                                                  p_reason text)
    RETURNS boolean LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    found_it boolean;
BEGIN
    PERFORM set_config('registrar.iq_id', coalesce(p_iq_id, ''), true),
            set_config('registrar.actor', coalesce(p_actor, ''), true),
            set_config('registrar.op', 'set_state', true);
    UPDATE @schema@.registrations
       SET state = p_state, updated_at = now(),
           disabled_at = CASE WHEN p_state = 'disabled'
                              THEN coalesce(disabled_at, now()) END,
           disabled_by = CASE WHEN p_state = 'disabled' THEN p_actor END,
           disabled_reason = CASE WHEN p_state = 'disabled' THEN p_reason END
     WHERE service = p_service AND jid = p_jid
       AND (p_from IS NULL OR state = p_from);
    found_it := FOUND;
    PERFORM set_config('registrar.iq_id', '', true),
            set_config('registrar.actor', '', true),
            set_config('registrar.op', '', true);
    IF NOT found_it AND EXISTS (SELECT 1 FROM @schema@.registrations
                                 WHERE service = p_service
                                   AND jid = p_jid) THEN
        RETURN NULL; -- in another state: nothing written
    END IF;
    RETURN found_it;
END
$$;

-- 007's interface (no reason), for instances of before 010.
CREATE OR REPLACE FUNCTION @schema@.registrar_set_state_from(p_service text,
                                                            p_jid text,
                                                            p_state text,
                                                            p_from text,
                                                            p_iq_id text,
                                                            p_actor text)
    RETURNS boolean LANGUAGE sql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
RETURN @schema@.registrar_set_state_from(p_service, p_jid, p_state, p_from,
                                         p_iq_id, p_actor, NULL::text);

-- registrar's reenable-user for a JID whose registration is gone: lifts
-- its ban, true when there was one; the event names the admin.
CREATE FUNCTION @schema@.registrar_unban(p_service text, p_jid text,
                                         p_iq_id text, p_actor text)
    RETURNS boolean LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    gone @schema@.registration_bans;
BEGIN
    DELETE FROM @schema@.registration_bans
     WHERE service = p_service AND jid = p_jid
    RETURNING * INTO gone;
    IF gone.service IS NULL THEN
        RETURN false;
    END IF;
    INSERT INTO @schema@.registration_events
           (service, jid, event, iq_id, detail)
    VALUES (p_service, p_jid, 'ban_lifted', p_iq_id,
            jsonb_strip_nulls(jsonb_build_object(
                'since', gone.since, 'reason', gone.reason,
                'actor', p_actor,
                'db_user', CASE WHEN p_actor IS NULL THEN session_user END)));
    RETURN true;
END
$$;

-- ---- for admins in SQL: the owner's functions ---------------------------

-- Lifts the ban of (service, jid); the event records the database role.
CREATE FUNCTION @schema@.registrar_lift_ban(p_service text, p_jid text)
    RETURNS boolean LANGUAGE sql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
RETURN @schema@.registrar_unban(p_service, p_jid, NULL, NULL);

-- An erasure request: every registration, ban and event of one bare JID,
-- in every service.  The commit still notifies (the removals' events are
-- gone with the rest: a backend that reads id > $last finds nothing for
-- that JID).
CREATE FUNCTION @schema@.registrar_forget_jid(p_jid text,
                                              OUT registrations bigint,
                                              OUT bans bigint,
                                              OUT events bigint)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM set_config('registrar.iq_id', '', true),
            set_config('registrar.actor', '', true),
            set_config('registrar.op', 'forget', true),
            set_config('registrar.maintenance', 'on', true);
    WITH gone AS (DELETE FROM @schema@.registrations WHERE jid = p_jid
                  RETURNING 1)
    SELECT count(*) INTO registrations FROM gone;
    WITH gone AS (DELETE FROM @schema@.registration_bans WHERE jid = p_jid
                  RETURNING 1)
    SELECT count(*) INTO bans FROM gone;
    WITH gone AS (DELETE FROM @schema@.registration_events WHERE jid = p_jid
                  RETURNING 1)
    SELECT count(*) INTO events FROM gone;
    PERFORM set_config('registrar.op', '', true),
            set_config('registrar.maintenance', '', true);
END
$$;

-- Deletes the events older than p_age; how many.
CREATE FUNCTION @schema@.registrar_purge_events(p_age interval)
    RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    n bigint;
BEGIN
    IF p_age IS NULL OR p_age < interval '0' THEN
        RAISE EXCEPTION 'registrar_purge_events: give an age of 0 or more'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM set_config('registrar.maintenance', 'on', true);
    WITH gone AS (DELETE FROM @schema@.registration_events
                   WHERE at < now() - p_age RETURNING 1)
    SELECT count(*) INTO n FROM gone;
    PERFORM set_config('registrar.maintenance', '', true);
    RETURN n;
END
$$;

-- ---- views -----------------------------------------------------------------

CREATE OR REPLACE VIEW @schema@.registrations_admin AS
SELECT service,
       jid,
       username,
       @schema@.registrar_fields_without_hashes(fields) AS fields,
       password_hash IS NOT NULL AS has_password,
       created_at,
       updated_at,
       state,
       consents,
       disabled_at,
       disabled_by,
       disabled_reason
  FROM @schema@.registrations;

COMMENT ON VIEW @schema@.registrations_admin IS
    'every registration without its secrets: no hash of any kind, '
    'text-private fields as true, has_password; with state, consents and '
    'why it is disabled';

-- The owner's purge and erasure functions delete events: 005 took DELETE
-- from the role that migrated (registrar's own, then the owner).
DO $$
BEGIN
    EXECUTE pg_catalog.format(
        'GRANT DELETE ON @schema@.registration_events TO %I',
        (SELECT pg_catalog.pg_get_userbyid(c.relowner)
           FROM pg_catalog.pg_class c
          WHERE c.oid = '@schema@.registration_events'::pg_catalog.regclass));
END
$$;
