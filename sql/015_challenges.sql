-- 015: challenges (issue 21.1, XEP-0158): the question (or image) a new
-- registration must answer when the service's challenge { mode } asks.
--
-- A challenge is made by registrar_challenge_issue for one bare JID of one
-- service: its id (random, made here: 128 bits as hex) is the form's
-- hidden field 'challenge'; its accepted answers are stored only as
-- SHA-256 of id || ':' || the answer as registrar normalised it (trimmed,
-- case-folded: challenge.h), so a dump of the table tells no answer, and
-- the same answer hashes differently in every challenge.  An image
-- challenge (XEP-0158 'ocr') keeps its PNG and its XEP-0231 cid
-- (sha1+HEX@bob.xmpp.org, made by registrar) so that any instance behind
-- the server answers the Bits of Binary get for it
-- (registrar_challenge_image) while the challenge is live.
--
-- registrar_challenge_check takes the answer of a set: it is single use
-- (the first check marks it used, right or wrong: UPDATE ... WHERE
-- used_at IS NULL, so two instances racing on one id see one 'ok' at
-- most), bound to the JID it was issued to (another JID's check is
-- 'foreign' and does not use it), and expires.  Each wrong, expired or
-- replayed answer counts a failure for the JID
-- (registration_challenge_failures); the max_failures-th locks the JID
-- out for the lockout given; a right answer clears the count.
--
-- registrar_challenge_status tells what the 'risk' rule needs: how long
-- the JID is locked out, whether it failed recently, and the service's
-- sign-ups (events 'registered') in the last minute.
--
-- Housekeeping: each issue deletes the service's challenges expired for
-- more than a minute and failures older than a day without a lock, and
-- keeps at most 4 live challenges per JID (its oldest go): the tables
-- stay bounded by the JIDs the server authenticated in the last ttl.
--
-- registrar_service runs four functions (issue, check, status, image) and reads
-- nothing else here; registrar_forget_jid (013) now forgets a JID's
-- challenges and failures too.
--
-- The schema's name is written @schema@ (see 010).

CREATE TABLE @schema@.registration_challenges (
    id           text        NOT NULL,
    service      text        NOT NULL,
    jid          text        NOT NULL,
    answer_hashes bytea[]    NOT NULL,
    image        bytea,
    image_cid    text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    used_at      timestamptz,
    CONSTRAINT registration_challenges_pkey PRIMARY KEY (id),
    CONSTRAINT registration_challenges_answers
        CHECK (cardinality(answer_hashes) BETWEEN 1 AND 16),
    CONSTRAINT registration_challenges_image_size
        CHECK (octet_length(image) <= 1048576),
    CONSTRAINT registration_challenges_image_cid
        CHECK ((image IS NULL) = (image_cid IS NULL))
);

CREATE INDEX registration_challenges_jid_idx
    ON @schema@.registration_challenges (service, jid, created_at);
CREATE INDEX registration_challenges_expires_idx
    ON @schema@.registration_challenges (service, expires_at);
CREATE INDEX registration_challenges_cid_idx
    ON @schema@.registration_challenges (service, image_cid)
    WHERE image_cid IS NOT NULL;

COMMENT ON TABLE @schema@.registration_challenges IS
    'XEP-0158 challenges (sql/015): single use, bound to a JID, the '
    'answers only as salted SHA-256';

CREATE TABLE @schema@.registration_challenge_failures (
    service        text        NOT NULL,
    jid            text        NOT NULL,
    failures       integer     NOT NULL DEFAULT 0,
    last_failure_at timestamptz NOT NULL DEFAULT now(),
    locked_until   timestamptz,
    CONSTRAINT registration_challenge_failures_pkey PRIMARY KEY (service, jid),
    CONSTRAINT registration_challenge_failures_count CHECK (failures >= 0)
);

COMMENT ON TABLE @schema@.registration_challenge_failures IS
    'wrong challenge answers per JID, and its lockout (sql/015)';

-- The stored hash of one normalised answer of challenge p_id.
CREATE FUNCTION @schema@.registrar_challenge_hash(p_id text, p_answer text)
    RETURNS bytea
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
RETURN pg_catalog.sha256(pg_catalog.convert_to(p_id || ':' || p_answer,
                                               'UTF8'));

-- A new challenge of p_service for p_jid, valid for p_ttl, accepting each
-- of p_answers (normalised: 1 to 16 of them); p_image and p_image_cid:
-- its PNG and cid (both NULL: a question); returns its id.
CREATE FUNCTION @schema@.registrar_challenge_issue(p_service text,
                                                   p_jid text,
                                                   p_ttl interval,
                                                   p_answers text[],
                                                   p_image bytea,
                                                   p_image_cid text)
    RETURNS text LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    new_id text;
BEGIN
    IF p_service IS NULL OR p_jid IS NULL OR p_ttl IS NULL
       OR p_ttl <= interval '0' OR coalesce(cardinality(p_answers), 0) < 1
       OR array_position(p_answers, NULL) IS NOT NULL
       OR (p_image IS NULL) <> (p_image_cid IS NULL) THEN
        RAISE EXCEPTION 'registrar_challenge_issue: give a service, a JID, '
                        'a positive ttl and at least one answer'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    DELETE FROM @schema@.registration_challenges c
     WHERE c.service = p_service
       AND c.expires_at < now() - interval '1 minute';
    DELETE FROM @schema@.registration_challenge_failures f
     WHERE f.service = p_service
       AND f.last_failure_at < now() - interval '1 day'
       AND (f.locked_until IS NULL OR f.locked_until < now());
    DELETE FROM @schema@.registration_challenges c
     WHERE c.id IN (SELECT o.id FROM @schema@.registration_challenges o
                     WHERE o.service = p_service AND o.jid = p_jid
                     ORDER BY o.created_at DESC, o.id OFFSET 3);
    new_id := replace(gen_random_uuid()::text, '-', '');
    INSERT INTO @schema@.registration_challenges
           (id, service, jid, answer_hashes, image, image_cid, expires_at)
    VALUES (new_id, p_service, p_jid,
            ARRAY(SELECT @schema@.registrar_challenge_hash(new_id, a)
                    FROM unnest(p_answers) a),
            p_image, p_image_cid, now() + p_ttl);
    RETURN new_id;
END
$$;

-- Counts a failure of p_jid; the p_max_failures-th locks it out for
-- p_lockout (the count starts again).  True when it locked.
CREATE FUNCTION @schema@.registrar_challenge_fail(p_service text, p_jid text,
                                                  p_max_failures integer,
                                                  p_lockout interval)
    RETURNS boolean LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    n integer;
BEGIN
    INSERT INTO @schema@.registration_challenge_failures AS f
           (service, jid, failures, last_failure_at)
    VALUES (p_service, p_jid, 1, now())
    ON CONFLICT (service, jid) DO UPDATE
       SET failures = f.failures + 1, last_failure_at = now()
    RETURNING f.failures INTO n;
    IF p_max_failures > 0 AND n >= p_max_failures THEN
        UPDATE @schema@.registration_challenge_failures
           SET failures = 0, locked_until = now() + p_lockout
         WHERE service = p_service AND jid = p_jid;
        RETURN true;
    END IF;
    RETURN false;
END
$$;

-- The answer p_answer (normalised) of p_jid to challenge p_id of
-- p_service.  Outcomes:
--   'ok'       right, in time, issued to p_jid: the challenge is used
--   'wrong'    a wrong answer (the challenge is used)
--   'expired'  too late (the challenge is used)
--   'used'     answered before (a replay)
--   'unknown'  no such challenge of the service
--   'foreign'  issued to another JID (not used: it stays its JID's)
--   'locked'   p_jid is locked out (nothing checked), or this failure was
--              its p_max_failures-th (it is locked out for p_lockout now)
-- Every outcome but 'ok' and a lockout already running counts a failure.
CREATE FUNCTION @schema@.registrar_challenge_check(p_service text,
                                                   p_jid text, p_id text,
                                                   p_answer text,
                                                   p_max_failures integer,
                                                   p_lockout interval)
    RETURNS text LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    c @schema@.registration_challenges;
    outcome text;
BEGIN
    IF EXISTS (SELECT 1 FROM @schema@.registration_challenge_failures f
                WHERE f.service = p_service AND f.jid = p_jid
                  AND f.locked_until > now()) THEN
        RETURN 'locked';
    END IF;
    SELECT * INTO c FROM @schema@.registration_challenges ch
     WHERE ch.id = p_id AND ch.service = p_service
       FOR UPDATE;
    IF NOT FOUND THEN
        outcome := 'unknown';
    ELSIF c.jid <> p_jid THEN
        outcome := 'foreign';
    ELSIF c.used_at IS NOT NULL THEN
        outcome := 'used';
    ELSE
        UPDATE @schema@.registration_challenges SET used_at = now()
         WHERE id = c.id;
        IF c.expires_at <= now() THEN
            outcome := 'expired';
        ELSIF @schema@.registrar_challenge_hash(c.id, coalesce(p_answer, ''))
              = ANY (c.answer_hashes) THEN
            DELETE FROM @schema@.registration_challenge_failures f
             WHERE f.service = p_service AND f.jid = p_jid;
            RETURN 'ok';
        ELSE
            outcome := 'wrong';
        END IF;
    END IF;
    IF @schema@.registrar_challenge_fail(p_service, p_jid, p_max_failures,
                                         p_lockout) THEN
        RETURN 'locked';
    END IF;
    RETURN outcome;
END
$$;

-- XEP-0231: the PNG of p_service's live (not expired) image challenge
-- whose cid is p_cid; no row when there is none.
CREATE FUNCTION @schema@.registrar_challenge_image(p_service text,
                                                   p_cid text)
    RETURNS TABLE (image bytea, ttl integer)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp AS $$
SELECT c.image, ceil(extract(epoch FROM c.expires_at - now()))::integer
  FROM @schema@.registration_challenges c
 WHERE c.service = p_service AND c.image_cid = p_cid
   AND c.expires_at > now()
 LIMIT 1
$$;

-- What the 'risk' rule and the lockout need for p_jid: the seconds its
-- lockout still runs (0: none), whether it failed within p_recent, and the
-- service's sign-ups (events 'registered') in the last minute.
CREATE FUNCTION @schema@.registrar_challenge_status(p_service text,
                                                    p_jid text,
                                                    p_recent interval,
                                                    OUT locked_for integer,
                                                    OUT failed_recently boolean,
                                                    OUT signups_last_minute
                                                        bigint)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
DECLARE
    f @schema@.registration_challenge_failures;
BEGIN
    SELECT * INTO f FROM @schema@.registration_challenge_failures x
     WHERE x.service = p_service AND x.jid = p_jid;
    locked_for := CASE WHEN f.locked_until > now()
                       THEN ceil(extract(epoch FROM f.locked_until - now()))
                       ELSE 0 END;
    failed_recently := coalesce(f.last_failure_at > now() - p_recent, false);
    SELECT count(*) INTO signups_last_minute
      FROM @schema@.registration_events e
     WHERE e.at > now() - interval '1 minute' AND e.service = p_service
       AND e.event = 'registered';
END
$$;

REVOKE ALL ON @schema@.registration_challenges,
              @schema@.registration_challenge_failures
    FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION
    @schema@.registrar_challenge_issue(text, text, interval, text[], bytea,
                                       text),
    @schema@.registrar_challenge_image(text, text),
    @schema@.registrar_challenge_fail(text, text, integer, interval),
    @schema@.registrar_challenge_check(text, text, text, text, integer,
                                       interval),
    @schema@.registrar_challenge_status(text, text, interval)
    FROM PUBLIC;

-- ---- forgetting a JID covers its challenges ------------------------------

-- registrar_forget_jid (013's) with what this migration keeps of a JID:
-- its challenges and its failure counts go too.  The same signature,
-- owner and grants.
CREATE OR REPLACE FUNCTION @schema@.registrar_forget_jid(p_jid text,
                                                         OUT registrations bigint,
                                                         OUT bans bigint,
                                                         OUT events bigint)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    ignored text;
BEGIN
    ignored := set_config('registrar.iq_id', '', true)
               || set_config('registrar.actor', '', true)
               || set_config('registrar.op', 'forget', true)
               || set_config('registrar.maintenance', 'on', true);
    WITH gone AS (DELETE FROM @schema@.registrations WHERE jid = p_jid
                  RETURNING 1)
    SELECT count(*) INTO registrations FROM gone;
    WITH gone AS (DELETE FROM @schema@.registration_bans WHERE jid = p_jid
                  RETURNING 1)
    SELECT count(*) INTO bans FROM gone;
    WITH gone AS (DELETE FROM @schema@.registration_events WHERE jid = p_jid
                  RETURNING 1)
    SELECT count(*) INTO events FROM gone;
    DELETE FROM @schema@.registration_invite_redemptions WHERE jid = p_jid;
    DELETE FROM @schema@.registration_invite_bindings WHERE jid = p_jid;
    DELETE FROM @schema@.registration_challenges WHERE jid = p_jid;
    DELETE FROM @schema@.registration_challenge_failures WHERE jid = p_jid;
    UPDATE @schema@.registration_invites SET creator = 'forgotten'
     WHERE creator = p_jid;
    UPDATE @schema@.registration_invites SET revoked_by = 'forgotten'
     WHERE revoked_by = p_jid;
    ignored := set_config('registrar.op', '', true)
               || set_config('registrar.maintenance', '', true);
END
$$;
