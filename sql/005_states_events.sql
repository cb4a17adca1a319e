-- 005: registration states, consents, and the event log.
--
-- registrations.state     'pending', 'active' or 'disabled' (existing rows
--                         and plain INSERTs: 'active').  Users never change
--                         it; the backend (SQL) and admins do.
-- registrations.consents  var -> {"version", "at"}: the consent fields a
--                         user gave as true, with the version consented to
--                         and when it was first recorded.
-- registration_events     one row per change of a registration, written by
--                         a trigger in the transaction of the change,
--                         whoever made it (registrar or plain SQL):
--                         registered, updated, password_changed, removed,
--                         state_changed.  iq_id is the stanza id when
--                         registrar made the change (NULL from SQL); detail
--                         names what changed, never a value of a secret nor
--                         a hash.  Append-only (below).
-- NOTIFY registrar        one per commit that wrote events (replaces 002's
--                         one per row), payload JSON
--                           {"id": highest event id of the commit,
--                            "count": events in the commit}
--                         plus, when the commit holds one event,
--                           "service", "jid", "event" and 002's "op"
--                           (insert, update or delete).
--
-- Event ids grow in commit order: every statement that writes a
-- registration or an event first takes a transaction-scoped advisory lock
-- (registrar_events_serialise), held to the end of its transaction, and
-- ids are drawn only under it.  A transaction that draws ids therefore
-- starts after every earlier event-writing transaction has committed (or
-- rolled back), and its commit is visible before the next one draws.  So
-- a reader that has seen id N never later sees a new id below N: LISTEN
-- registrar and read "WHERE id > $last" on each notification, whatever
-- connection or registrar instance wrote.  The cost: event-writing commits
-- are serialised (notifying commits are serialised by PostgreSQL anyway).
--
-- registrar writes through functions, one round trip each, which hand the
-- stanza id and the admin's JID to the trigger in transaction-local
-- settings (registrar.iq_id, registrar.actor, registrar.op):
--   registrar_put(...) -> created, registrar_remove(...) -> found,
--   registrar_set_password(...) -> found, registrar_set_state(...) -> found.

ALTER TABLE registrations
    ADD COLUMN state text NOT NULL DEFAULT 'active',
    ADD COLUMN consents jsonb NOT NULL DEFAULT '{}'::jsonb,
    ADD CONSTRAINT registrations_state_valid
        CHECK (state IN ('pending', 'active', 'disabled')),
    ADD CONSTRAINT registrations_consents_object
        CHECK (jsonb_typeof(consents) = 'object');

CREATE INDEX registrations_state_idx ON registrations (service, state, jid);

CREATE TABLE registration_events (
    id      bigserial   NOT NULL,
    service text        NOT NULL,
    jid     text        NOT NULL,
    event   text        NOT NULL,
    at      timestamptz NOT NULL DEFAULT now(),
    iq_id   text,
    detail  jsonb       NOT NULL DEFAULT '{}'::jsonb,
    CONSTRAINT registration_events_pkey PRIMARY KEY (id),
    CONSTRAINT registration_events_event_valid
        CHECK (event IN ('registered', 'updated', 'password_changed',
                         'removed', 'state_changed')),
    CONSTRAINT registration_events_detail_object
        CHECK (jsonb_typeof(detail) = 'object')
);

CREATE INDEX registration_events_jid_idx
    ON registration_events (jid, service, id);
CREATE INDEX registration_events_at_idx ON registration_events (at);

COMMENT ON TABLE registration_events IS
    'every change of a registration, in commit order of id; append-only';

-- ---- commit order ------------------------------------------------------

-- The one lock of event writers (a bigint key: "registrb" in ASCII, next
-- to the migration lock "registra").  Re-entrant within a transaction.
CREATE FUNCTION registrar_events_serialise() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(7454127761211159138);
    RETURN NULL;
END
$$;

-- Before any row of the statement is locked or any id drawn.
CREATE TRIGGER registrations_serialise
    BEFORE INSERT OR UPDATE OR DELETE ON registrations
    FOR EACH STATEMENT EXECUTE FUNCTION registrar_events_serialise();
CREATE TRIGGER registration_events_serialise
    BEFORE INSERT ON registration_events
    FOR EACH STATEMENT EXECUTE FUNCTION registrar_events_serialise();

-- ---- the event of each change ------------------------------------------

-- Runs as the owner, so that a role allowed to change registrations logs
-- its changes without rights on registration_events.
CREATE FUNCTION registrations_event() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    op text := nullif(current_setting('registrar.op', true), '');
    actor text := nullif(current_setting('registrar.actor', true), '');
    iq text := nullif(current_setting('registrar.iq_id', true), '');
    r registrations;
    ev text;
    detail jsonb := '{}'::jsonb;
    changed jsonb;
    consented jsonb;
BEGIN
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
    INSERT INTO registration_events (service, jid, event, iq_id, detail)
    VALUES (r.service, r.jid, ev, iq, detail);
    RETURN NULL;
END
$$;

CREATE TRIGGER registrations_event
    AFTER INSERT OR UPDATE OR DELETE ON registrations
    FOR EACH ROW EXECUTE FUNCTION registrations_event();

-- 002's notification per row gives way to one per commit (below).
DROP TRIGGER registrations_notify ON registrations;
DROP FUNCTION registrations_notify();

-- ---- one NOTIFY per commit ---------------------------------------------

-- Each event row notes, in transaction-local settings, the highest id and
-- the count of its transaction (and the first event itself).
CREATE FUNCTION registration_events_track() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    n bigint := coalesce(nullif(current_setting('registrar.events_count',
                                                true), ''), '0')::bigint;
    last bigint := coalesce(nullif(current_setting('registrar.events_last',
                                                   true), ''), '0')::bigint;
BEGIN
    PERFORM set_config('registrar.events_count', (n + 1)::text, true);
    PERFORM set_config('registrar.events_last',
                       greatest(last, NEW.id)::text, true);
    IF n = 0 THEN
        PERFORM set_config('registrar.events_first',
            jsonb_build_object('service', NEW.service, 'jid', NEW.jid,
                'event', NEW.event,
                'op', CASE NEW.event WHEN 'registered' THEN 'insert'
                                     WHEN 'removed' THEN 'delete'
                                     ELSE 'update' END)::text, true);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER registration_events_track
    AFTER INSERT ON registration_events
    FOR EACH ROW EXECUTE FUNCTION registration_events_track();

-- At commit, once per event row, the same payload from the settings,
-- which no longer change then: PostgreSQL delivers identical
-- notifications of one transaction once.
CREATE FUNCTION registration_events_notify() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    n bigint := coalesce(nullif(current_setting('registrar.events_count',
                                                true), ''), '0')::bigint;
    payload jsonb := jsonb_build_object('id',
        coalesce(nullif(current_setting('registrar.events_last', true), ''),
                 '0')::bigint,
        'count', n);
BEGIN
    IF n = 1 THEN
        payload := current_setting('registrar.events_first')::jsonb
                   || payload;
    END IF;
    PERFORM pg_notify('registrar', payload::text);
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER registration_events_notify
    AFTER INSERT ON registration_events
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION registration_events_notify();

-- ---- append-only ---------------------------------------------------------

-- No UPDATE ever; DELETE and TRUNCATE only in a transaction that set
-- registrar.maintenance = on (sql/admin/forget_jid.sql, purge_events.sql),
-- by a role that has the right (the migrating role has not: below).
CREATE FUNCTION registration_events_append_only() RETURNS trigger
    LANGUAGE plpgsql AS $$
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
                     'sql/admin/forget_jid.sql or sql/admin/purge_events.sql';
END
$$;

CREATE TRIGGER registration_events_append_only
    BEFORE UPDATE OR DELETE ON registration_events
    FOR EACH ROW EXECUTE FUNCTION registration_events_append_only();
CREATE TRIGGER registration_events_no_truncate
    BEFORE TRUNCATE ON registration_events
    FOR EACH STATEMENT EXECUTE FUNCTION registration_events_append_only();

-- The migrating role is registrar's: it may add events, never change or
-- delete them (an admin role or a superuser runs sql/admin's queries).
REVOKE UPDATE, DELETE, TRUNCATE ON registration_events FROM CURRENT_USER;

-- ---- registrar's writes --------------------------------------------------

-- Who is asking, for the trigger; '' (none) after the write.
CREATE FUNCTION registrar_set_origin(iq_id text, actor text, op text)
    RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('registrar.iq_id', coalesce(iq_id, ''), true);
    PERFORM set_config('registrar.actor', coalesce(actor, ''), true);
    PERFORM set_config('registrar.op', coalesce(op, ''), true);
END
$$;

-- consents merged with given (var -> version): each var whose version is
-- not the one on file gets {"version", "at": now()}.
CREATE FUNCTION registrar_consents_merge(consents jsonb, given jsonb)
    RETURNS jsonb LANGUAGE sql STABLE
RETURN coalesce(consents, '{}'::jsonb) || coalesce((
    SELECT jsonb_object_agg(g.key, jsonb_build_object(
               'version', g.value #>> '{}', 'at', now()))
      FROM jsonb_each(given) g
     WHERE consents -> g.key ->> 'version' IS DISTINCT FROM g.value #>> '{}'),
    '{}'::jsonb);

-- Inserts, or updates the row of (service, jid); true when inserted.  An
-- update keeps the state and, when password_hash is NULL, the hash.
CREATE FUNCTION registrar_put(p_service text, p_jid text, p_username text,
                              p_fields jsonb, p_password_hash text,
                              p_state text, p_consents jsonb,
                              p_iq_id text, p_actor text)
    RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    created boolean;
BEGIN
    PERFORM registrar_set_origin(p_iq_id, p_actor, 'put');
    INSERT INTO registrations AS r
           (service, jid, username, fields, password_hash, state, consents)
    VALUES (p_service, p_jid, p_username, p_fields, p_password_hash,
            coalesce(p_state, 'active'),
            registrar_consents_merge('{}'::jsonb, p_consents))
    ON CONFLICT (service, jid) DO UPDATE SET
           username = EXCLUDED.username,
           fields = EXCLUDED.fields,
           password_hash = coalesce(EXCLUDED.password_hash, r.password_hash),
           consents = registrar_consents_merge(r.consents, p_consents),
           updated_at = now()
    RETURNING (xmax = 0) INTO created;
    PERFORM registrar_set_origin(NULL, NULL, NULL);
    RETURN created;
END
$$;

CREATE FUNCTION registrar_remove(p_service text, p_jid text,
                                 p_iq_id text, p_actor text)
    RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    found_it boolean;
BEGIN
    PERFORM registrar_set_origin(p_iq_id, p_actor, 'remove');
    DELETE FROM registrations WHERE service = p_service AND jid = p_jid;
    found_it := FOUND;
    PERFORM registrar_set_origin(NULL, NULL, NULL);
    RETURN found_it;
END
$$;

CREATE FUNCTION registrar_set_password(p_service text, p_jid text,
                                       p_password_hash text,
                                       p_iq_id text, p_actor text)
    RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    found_it boolean;
BEGIN
    PERFORM registrar_set_origin(p_iq_id, p_actor, 'set_password');
    UPDATE registrations
       SET password_hash = p_password_hash, updated_at = now()
     WHERE service = p_service AND jid = p_jid;
    found_it := FOUND;
    PERFORM registrar_set_origin(NULL, NULL, NULL);
    RETURN found_it;
END
$$;

-- An admin's action: an event even when the state was already that one.
CREATE FUNCTION registrar_set_state(p_service text, p_jid text,
                                    p_state text, p_iq_id text,
                                    p_actor text)
    RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    found_it boolean;
BEGIN
    PERFORM registrar_set_origin(p_iq_id, p_actor, 'set_state');
    UPDATE registrations SET state = p_state, updated_at = now()
     WHERE service = p_service AND jid = p_jid;
    found_it := FOUND;
    PERFORM registrar_set_origin(NULL, NULL, NULL);
    RETURN found_it;
END
$$;
