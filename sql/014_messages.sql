-- 014: messages to users (issue 20, part 2): the state changes a user is
-- told of, claimed exactly once whatever the number of instances.
--
-- A registrar with messages { activated, disabled } configured for a
-- service tells the user when the state of their registration becomes
-- active or disabled, whoever changed it (an admin's ad-hoc command,
-- `registrar admin`, a backend's plain SQL): it reads the event log
-- (registration_events, event 'state_changed', detail {"from", "to",
-- "reason"}), woken by NOTIFY registrar and by a poll.  Several instances
-- of one service share the log, so each event is claimed, once, by one of
-- them:
--
-- registrar_message_cursors  one row per service: last_id, the highest
--                            event id whose message has been claimed;
--                            claimed_at, when.  Made by the service's
--                            first claim at the end of the log then (a
--                            fresh deployment does not tell anyone of the
--                            changes of before).
-- registrar_claim_state_changes(service, max)
--                            in one transaction, under the row lock of the
--                            service's cursor (FOR UPDATE SKIP LOCKED: an
--                            instance that finds it taken claims nothing
--                            and leaves the events to the holder, which
--                            claims again on the notifications that follow
--                            its claim), returns the state changes to
--                            active or to disabled (from another state) of
--                            the service after last_id, at most max, in id
--                            order, each with the registration's username
--                            as it is now (NULL: none, or removed since),
--                            and moves last_id past what it returned (to
--                            where the log ended, when fewer than max).
--                            Event ids grow in commit order (005), so
--                            nothing below the log's end commits later.
--
-- The claim commits before any message goes out: at most once (a message
-- lost with the XMPP stream is not sent again).  registrar_service may run
-- the function and nothing else here; readers may read the cursors.
--
-- The schema's name is written @schema@ (see 010).

CREATE TABLE @schema@.registrar_message_cursors (
    service    text        NOT NULL,
    last_id    bigint      NOT NULL,
    claimed_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT registrar_message_cursors_pkey PRIMARY KEY (service),
    CONSTRAINT registrar_message_cursors_last_id CHECK (last_id >= 0)
);

COMMENT ON TABLE @schema@.registrar_message_cursors IS
    'per service, the last event whose message to the user was claimed '
    '(registrar_claim_state_changes)';

CREATE FUNCTION @schema@.registrar_claim_state_changes(p_service text,
                                                       p_max integer)
    RETURNS TABLE (event_id bigint, jid text, username text, state text,
                   reason text)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
DECLARE
    since bigint;
    tip bigint;
    upto bigint;
    n integer := 0;
    e record;
BEGIN
    IF p_service IS NULL OR p_max IS NULL OR p_max < 1 THEN
        RAISE EXCEPTION 'registrar_claim_state_changes: give a service and '
                        'a positive max'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT c.last_id INTO since
      FROM @schema@.registrar_message_cursors c
     WHERE c.service = p_service
       FOR UPDATE SKIP LOCKED;
    IF NOT FOUND THEN
        -- held: another instance is claiming (its claim, its messages);
        -- or none yet: the service's first claim makes it at the end of
        -- the log and returns nothing (an INSERT only then: one against
        -- a row another claim holds would wait for that claim's commit)
        IF NOT EXISTS (SELECT 1 FROM @schema@.registrar_message_cursors c
                        WHERE c.service = p_service) THEN
            INSERT INTO @schema@.registrar_message_cursors (service, last_id)
            SELECT p_service, coalesce(max(l.id), 0)
              FROM @schema@.registration_events l
            ON CONFLICT (service) DO NOTHING;
        END IF;
        RETURN;
    END IF;
    -- read after the lock: at least as far as the claim before ours
    SELECT coalesce(max(l.id), 0) INTO tip FROM @schema@.registration_events l;
    upto := greatest(since, tip);
    FOR e IN
        SELECT l.id, l.jid, l.detail ->> 'to' AS st,
               l.detail ->> 'reason' AS why
          FROM @schema@.registration_events l
         WHERE l.id > since AND l.id <= tip
           AND l.service = p_service
           AND l.event = 'state_changed'
           AND l.detail ->> 'to' IN ('active', 'disabled')
           AND (l.detail ->> 'from') IS DISTINCT FROM (l.detail ->> 'to')
         ORDER BY l.id
         LIMIT p_max
    LOOP
        n := n + 1;
        event_id := e.id;
        jid := e.jid;
        state := e.st;
        reason := e.why;
        username := (SELECT r.username FROM @schema@.registrations r
                      WHERE r.service = p_service AND r.jid = e.jid);
        RETURN NEXT;
        IF n = p_max THEN
            upto := e.id; -- more may follow: the next claim goes on
        END IF;
    END LOOP;
    UPDATE @schema@.registrar_message_cursors c
       SET last_id = upto, claimed_at = now()
     WHERE c.service = p_service AND c.last_id < upto;
END
$$;

COMMENT ON FUNCTION @schema@.registrar_claim_state_changes(text, integer) IS
    'claims, once across instances, the state changes (to active or '
    'disabled) of a service whose message to the user is still to be sent';

-- Until sql/roles.sql runs after this migration (in the same
-- registrar --migrate), the function belongs to the role that migrates.
REVOKE EXECUTE ON FUNCTION
    @schema@.registrar_claim_state_changes(text, integer) FROM PUBLIC;
REVOKE ALL ON @schema@.registrar_message_cursors FROM PUBLIC;
