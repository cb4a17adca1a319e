-- 011: an update that changes nothing is no event.
--
-- registrar's put writes what the user submitted and moves updated_at, so
-- a resubmission of the same form (secrets given again unchanged keep
-- their stored hash) wrote an 'updated' event of {"changed": []} that a
-- backend had to read and ignore.  Now a row that differs from the old one
-- in updated_at alone is no event, whoever wrote it (registrar, an admin
-- command, plain SQL): no field, username, password, consent, state or
-- disabled_* column changed.  Two operations are events even then: an
-- admin's state command (registrar.op 'set_state': the admin acted, as
-- doc/backend.md says) and a password change ('set_password').
--
-- The schema's name is written @schema@ (see 010); the function keeps its
-- signature, owner, grants and its two triggers.

CREATE OR REPLACE FUNCTION @schema@.registrations_event() RETURNS trigger
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
        -- an update that changed nothing but updated_at is no event,
        -- unless an admin set the state or the password was set
        r := NEW;
        r.updated_at := OLD.updated_at;
        IF r IS NOT DISTINCT FROM OLD
           AND op IS DISTINCT FROM 'set_state'
           AND op IS DISTINCT FROM 'set_password' THEN
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
