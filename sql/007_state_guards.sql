-- 007: the database enforces the states, not only registrar's read of
-- them.  An update or a password change checked against a registration
-- that an admin or the backend disables while its secrets are hashed
-- must not land: registrar_put and registrar_set_password leave a
-- disabled row alone and return NULL ("refused by its state").  An
-- admin's state change may name the state it expects (re-enable: from
-- disabled; activate: from pending) and is refused (NULL) when the row is
-- in another one, so that two admins, or an admin and the backend, never
-- lift each other's state by racing.

CREATE OR REPLACE FUNCTION registrar_put(p_service text, p_jid text,
                                         p_username text, p_fields jsonb,
                                         p_password_hash text,
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
     WHERE r.state <> 'disabled'
    RETURNING (xmax = 0) INTO created;
    PERFORM registrar_set_origin(NULL, NULL, NULL);
    RETURN created; -- NULL: the row is disabled, nothing written
END
$$;

CREATE OR REPLACE FUNCTION registrar_set_password(p_service text,
                                                  p_jid text,
                                                  p_password_hash text,
                                                  p_iq_id text,
                                                  p_actor text)
    RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    found_it boolean;
BEGIN
    PERFORM registrar_set_origin(p_iq_id, p_actor, 'set_password');
    UPDATE registrations
       SET password_hash = p_password_hash, updated_at = now()
     WHERE service = p_service AND jid = p_jid AND state <> 'disabled';
    found_it := FOUND;
    PERFORM registrar_set_origin(NULL, NULL, NULL);
    IF NOT found_it AND EXISTS (SELECT 1 FROM registrations
                                 WHERE service = p_service
                                   AND jid = p_jid) THEN
        RETURN NULL; -- disabled: nothing written
    END IF;
    RETURN found_it;
END
$$;

-- An admin's action, from the state p_from (NULL: any): an event even
-- when the state was already that one; NULL when the row is in another
-- state than p_from, false when there is no row.
CREATE FUNCTION registrar_set_state_from(p_service text, p_jid text,
                                         p_state text, p_from text,
                                         p_iq_id text, p_actor text)
    RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    found_it boolean;
BEGIN
    PERFORM registrar_set_origin(p_iq_id, p_actor, 'set_state');
    UPDATE registrations SET state = p_state, updated_at = now()
     WHERE service = p_service AND jid = p_jid
       AND (p_from IS NULL OR state = p_from);
    found_it := FOUND;
    PERFORM registrar_set_origin(NULL, NULL, NULL);
    IF NOT found_it AND EXISTS (SELECT 1 FROM registrations
                                 WHERE service = p_service
                                   AND jid = p_jid) THEN
        RETURN NULL; -- in another state: nothing written
    END IF;
    RETURN found_it;
END
$$;
