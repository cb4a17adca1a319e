-- 008: a registration write that answers with its outcome instead of an
-- error, for the batching store.
--
-- registrar sends the registrations that arrive together in one
-- transaction (one round trip, one commit, one WAL flush, one NOTIFY).  An
-- error would abort the whole transaction, so the outcomes a user can
-- cause are returned instead of raised, each decided by a constraint as
-- before (the unique username index, the username rule's CHECK):
--
--   registrar_put_outcome(service, jid, username, fields, password_hash,
--                         state, consents, iq_id, actor, keep)
--     -> 'created' | 'updated' | 'disabled' (nothing written)
--      | 'conflict' (the username is another JID's)
--      | 'invalid'  (the username rule refused it)
--
-- keep: vars of private fields (hashes) that an update keeps from the row
-- on file when fields does not hold them, so that an update without
-- secrets needs no read first.  registrar_put (005, 007) stays as it was
-- for SQL callers.

CREATE FUNCTION registrar_put_outcome(p_service text, p_jid text,
                                      p_username text, p_fields jsonb,
                                      p_password_hash text, p_state text,
                                      p_consents jsonb, p_iq_id text,
                                      p_actor text, p_keep text[])
    RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    created boolean;
    cons text;
BEGIN
    PERFORM registrar_set_origin(p_iq_id, p_actor, 'put');
    BEGIN
        INSERT INTO registrations AS r
               (service, jid, username, fields, password_hash, state,
                consents)
        VALUES (p_service, p_jid, p_username, p_fields, p_password_hash,
                coalesce(p_state, 'active'),
                registrar_consents_merge('{}'::jsonb, p_consents))
        ON CONFLICT (service, jid) DO UPDATE SET
               username = EXCLUDED.username,
               fields = EXCLUDED.fields || coalesce(
                   (SELECT jsonb_object_agg(k.key, k.value)
                      FROM jsonb_each(r.fields) k
                     WHERE k.key = ANY (p_keep)
                       AND NOT EXCLUDED.fields ? k.key), '{}'::jsonb),
               password_hash = coalesce(EXCLUDED.password_hash,
                                        r.password_hash),
               consents = registrar_consents_merge(r.consents, p_consents),
               updated_at = now()
         WHERE r.state <> 'disabled'
        RETURNING (xmax = 0) INTO created;
    EXCEPTION
        WHEN unique_violation THEN
            PERFORM registrar_set_origin(NULL, NULL, NULL);
            RETURN 'conflict';
        WHEN check_violation THEN
            GET STACKED DIAGNOSTICS cons = CONSTRAINT_NAME;
            IF cons IS DISTINCT FROM 'registrations_username_valid' THEN
                RAISE;
            END IF;
            PERFORM registrar_set_origin(NULL, NULL, NULL);
            RETURN 'invalid';
    END;
    PERFORM registrar_set_origin(NULL, NULL, NULL);
    RETURN CASE WHEN created IS NULL THEN 'disabled'
                WHEN created THEN 'created'
                ELSE 'updated' END;
END
$$;
