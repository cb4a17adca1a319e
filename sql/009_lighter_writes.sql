-- 009: the same writes, events and notifications for less database CPU.
--
-- Nothing an admin or the third-party service sees changes: the same rows,
-- the same events, one NOTIFY registrar per commit with the same payload.
--
-- registration_events_notify  queued for the first event of a transaction
--                             only (a WHEN on the count that
--                             registration_events_track keeps), instead of
--                             once per event row and deduplicated by
--                             PostgreSQL at commit: one call per commit.
-- registrar_put_outcome       the origin set and cleared in one statement
--                             each; the kept private values and the
--                             consents merged only when there are any.

DROP TRIGGER registration_events_notify ON registration_events;
CREATE CONSTRAINT TRIGGER registration_events_notify
    AFTER INSERT ON registration_events
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW
    WHEN (coalesce(nullif(current_setting('registrar.events_count', true),
                          ''), '0') = '0')
    EXECUTE FUNCTION registration_events_notify();

CREATE OR REPLACE FUNCTION registrar_put_outcome(p_service text, p_jid text,
                                                 p_username text,
                                                 p_fields jsonb,
                                                 p_password_hash text,
                                                 p_state text,
                                                 p_consents jsonb,
                                                 p_iq_id text, p_actor text,
                                                 p_keep text[])
    RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    created boolean;
    cons text;
    no_consents boolean := p_consents IS NULL OR p_consents = '{}'::jsonb;
    no_keep boolean := p_keep IS NULL OR cardinality(p_keep) = 0;
BEGIN
    -- as registrar_set_origin(p_iq_id, p_actor, 'put')
    PERFORM set_config('registrar.iq_id', coalesce(p_iq_id, ''), true),
            set_config('registrar.actor', coalesce(p_actor, ''), true),
            set_config('registrar.op', 'put', true);
    BEGIN
        INSERT INTO registrations AS r
               (service, jid, username, fields, password_hash, state,
                consents)
        VALUES (p_service, p_jid, p_username, p_fields, p_password_hash,
                coalesce(p_state, 'active'),
                CASE WHEN no_consents THEN '{}'::jsonb
                     ELSE registrar_consents_merge('{}'::jsonb, p_consents)
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
                   ELSE registrar_consents_merge(r.consents, p_consents)
                   END,
               updated_at = now()
         WHERE r.state <> 'disabled'
        RETURNING (xmax = 0) INTO created;
    EXCEPTION
        WHEN unique_violation THEN
            created := NULL;
            cons := 'conflict';
        WHEN check_violation THEN
            GET STACKED DIAGNOSTICS cons = CONSTRAINT_NAME;
            IF cons IS DISTINCT FROM 'registrations_username_valid' THEN
                RAISE;
            END IF;
            created := NULL;
            cons := 'invalid';
    END;
    PERFORM set_config('registrar.iq_id', '', true),
            set_config('registrar.actor', '', true),
            set_config('registrar.op', '', true);
    RETURN coalesce(cons, CASE WHEN created IS NULL THEN 'disabled'
                               WHEN created THEN 'created'
                               ELSE 'updated' END);
END
$$;
