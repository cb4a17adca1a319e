-- 013: invitations (issue 20.1).
--
-- An invitation is a token an admin (or a backend, in SQL) makes for a
-- service: random, shown once, stored only as its SHA-256
-- (token_hash).  It carries an expiry (NULL: never), a maximum number of
-- uses (NULL: unlimited), an optional binding to a bare JID or a domain
-- (bound_to: "user@host" binds that JID, "host" every JID of that
-- domain), an optional initial state (over the service's
-- initial_state), optional field values that fill those a registration
-- leaves out, a label, its creator and when it was revoked.
--
-- Redeeming one is part of the registration it allows: registrar's write
-- of a registration with an invitation (registrar_put_invite_event) takes
-- the event writers' lock, locks the invitation's row, checks it, writes
-- the registration (registrar_put_event, sql/012) and, only when that
-- created a registration, counts the use, records the redemption and
-- writes its event, all in one statement.  A registration refused for
-- any other reason (conflict, invalid username, ban) uses nothing.  Two
-- instances racing for a single-use token: the second waits for the
-- first's commit (the lock) and finds it used up.
--
-- XEP-0445's <preauth/> binds a valid token to the sender's bare JID for
-- a while (registration_invite_bindings): the registration that follows
-- from that JID needs no token and is charged to that invitation; as
-- XEP-0445 says, its expiry was checked at the preauth, not again (its
-- revocation, uses and binding are).
--
-- Events (registration_events): invite_created, invite_revoked (jid: the
-- admin who acted, '' when none: plain SQL), invite_redeemed (jid: the
-- registration's), each with {"invite": id} and the label in detail;
-- they NOTIFY registrar as every event does.
--
-- The schema's name is written @schema@ (see 010).

CREATE TABLE @schema@.registration_invites (
    id            bigserial   NOT NULL,
    service       text        NOT NULL,
    token_hash    bytea       NOT NULL,
    label         text,
    creator       text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz,
    max_uses      integer,
    uses          integer     NOT NULL DEFAULT 0,
    bound_to      text,
    initial_state text,
    fields        jsonb       NOT NULL DEFAULT '{}'::jsonb,
    revoked_at    timestamptz,
    revoked_by    text,
    CONSTRAINT registration_invites_pkey PRIMARY KEY (id),
    CONSTRAINT registration_invites_token_hash_key UNIQUE (token_hash),
    CONSTRAINT registration_invites_token_hash_sha256
        CHECK (octet_length(token_hash) = 32),
    CONSTRAINT registration_invites_uses_valid
        CHECK (uses >= 0 AND (max_uses IS NULL
                              OR (max_uses > 0 AND uses <= max_uses))),
    CONSTRAINT registration_invites_state_valid
        CHECK (initial_state IN ('active', 'pending')),
    CONSTRAINT registration_invites_fields_object
        CHECK (jsonb_typeof(fields) = 'object'),
    CONSTRAINT registration_invites_label_length
        CHECK (char_length(label) <= 256)
);

CREATE INDEX registration_invites_service_idx
    ON @schema@.registration_invites (service, id);

COMMENT ON TABLE @schema@.registration_invites IS
    'invitations to register (sql/013): the token only as its SHA-256';

CREATE TABLE @schema@.registration_invite_redemptions (
    invite_id bigint      NOT NULL,
    service   text        NOT NULL,
    jid       text        NOT NULL,
    at        timestamptz NOT NULL DEFAULT now(),
    event_id  bigint,
    CONSTRAINT registration_invite_redemptions_pkey
        PRIMARY KEY (invite_id, service, jid, at),
    CONSTRAINT registration_invite_redemptions_invite_fkey
        FOREIGN KEY (invite_id)
        REFERENCES @schema@.registration_invites (id) ON DELETE CASCADE
);

CREATE INDEX registration_invite_redemptions_jid_idx
    ON @schema@.registration_invite_redemptions (jid, service);

COMMENT ON TABLE @schema@.registration_invite_redemptions IS
    'who registered with which invitation, and when (event_id: the '
    'registration''s ''registered'' event)';

CREATE TABLE @schema@.registration_invite_bindings (
    service    text        NOT NULL,
    jid        text        NOT NULL,
    invite_id  bigint      NOT NULL,
    expires_at timestamptz NOT NULL,
    CONSTRAINT registration_invite_bindings_pkey PRIMARY KEY (service, jid),
    CONSTRAINT registration_invite_bindings_invite_fkey
        FOREIGN KEY (invite_id)
        REFERENCES @schema@.registration_invites (id) ON DELETE CASCADE
);

COMMENT ON TABLE @schema@.registration_invite_bindings IS
    'XEP-0445 <preauth/>: the invitation a JID presented, until it '
    'registers or the binding expires';

ALTER TABLE @schema@.registration_events
    DROP CONSTRAINT registration_events_event_valid,
    ADD CONSTRAINT registration_events_event_valid
        CHECK (event IN ('registered', 'updated', 'password_changed',
                         'removed', 'state_changed', 'ban_lifted',
                         'invite_created', 'invite_redeemed',
                         'invite_revoked'));

-- ---- the one check ---------------------------------------------------------

-- The SHA-256 of a token's text, as stored.
CREATE FUNCTION @schema@.registrar_invite_hash(p_token text) RETURNS bytea
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
RETURN pg_catalog.sha256(pg_catalog.convert_to(p_token, 'UTF8'));

-- Whether invitation i lets the bare JID p_jid register now: not
-- revoked, not used up, bound to that JID or its domain (or to none),
-- and, when p_expiry, not expired.
CREATE FUNCTION @schema@.registrar_invite_usable(
        i @schema@.registration_invites, p_jid text, p_expiry boolean)
    RETURNS boolean LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
RETURN coalesce(i.id IS NOT NULL
   AND i.revoked_at IS NULL
   AND (i.max_uses IS NULL OR i.uses < i.max_uses)
   AND (NOT p_expiry OR i.expires_at IS NULL OR i.expires_at > now())
   AND (i.bound_to IS NULL
        OR i.bound_to = p_jid
        OR (strpos(i.bound_to, '@') = 0
            AND i.bound_to = pg_catalog.split_part(p_jid, '@', 2))),
   false);

-- ---- create, revoke ---------------------------------------------------------

-- A new invitation of p_service.  p_token: the token (at least 22
-- characters: 128 bits in base64url), or NULL to have one made here (32
-- random bytes of two gen_random_uuid(): 244 random bits, base64url).
-- p_ttl NULL: never expires; p_max_uses NULL: unlimited; p_bound_to: a
-- bare JID or a domain, NULL: anyone; p_state: 'active', 'pending' or
-- NULL (the service's); p_fields: values for fields a registration leaves
-- out; p_actor: the admin's JID (NULL: plain SQL, the session's role in
-- the event).  Returns the token (the only time it is shown), the id,
-- the expiry and the event's id.
CREATE FUNCTION @schema@.registrar_invite_create(p_service text,
                                                 p_token text,
                                                 p_ttl interval,
                                                 p_max_uses integer,
                                                 p_bound_to text,
                                                 p_state text,
                                                 p_fields jsonb,
                                                 p_label text,
                                                 p_actor text,
                                                 p_iq_id text,
                                                 OUT id bigint,
                                                 OUT token text,
                                                 OUT expires_at timestamptz,
                                                 OUT event_id bigint)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF p_service IS NULL THEN
        RAISE EXCEPTION 'registrar_invite_create: no service';
    END IF;
    token := coalesce(p_token, rtrim(translate(encode(
                 uuid_send(gen_random_uuid()) || uuid_send(gen_random_uuid()),
                 'base64'), '+/', '-_'), '='));
    IF char_length(token) < 22 THEN
        RAISE EXCEPTION 'registrar_invite_create: a token of 22 characters '
            'at least (128 bits)' USING ERRCODE = 'check_violation';
    END IF;
    INSERT INTO @schema@.registration_invites
           (service, token_hash, label, creator, expires_at, max_uses,
            bound_to, initial_state, fields)
    VALUES (p_service, @schema@.registrar_invite_hash(token), p_label,
            coalesce(p_actor, session_user::text), now() + p_ttl, p_max_uses,
            p_bound_to, p_state, coalesce(p_fields, '{}'::jsonb))
    RETURNING registration_invites.id, registration_invites.expires_at
         INTO id, expires_at;
    INSERT INTO @schema@.registration_events
           (service, jid, event, iq_id, detail)
    VALUES (p_service, coalesce(p_actor, ''), 'invite_created', p_iq_id,
            jsonb_strip_nulls(jsonb_build_object(
                'invite', id, 'label', p_label, 'expires_at', expires_at,
                'max_uses', p_max_uses, 'bound_to', p_bound_to,
                'actor', p_actor,
                'db_user', CASE WHEN p_actor IS NULL THEN session_user END)))
    RETURNING registration_events.id INTO event_id;
END
$$;

-- Revokes invitation p_id of p_service (its bindings go); done false
-- when there is none or it was revoked already.
CREATE FUNCTION @schema@.registrar_invite_revoke(p_service text, p_id bigint,
                                                 p_actor text, p_iq_id text,
                                                 OUT done boolean,
                                                 OUT event_id bigint)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    inv @schema@.registration_invites;
BEGIN
    UPDATE @schema@.registration_invites
       SET revoked_at = now(),
           revoked_by = coalesce(p_actor, session_user::text)
     WHERE service = p_service AND id = p_id AND revoked_at IS NULL
    RETURNING * INTO inv;
    done := inv.id IS NOT NULL;
    IF done THEN
        DELETE FROM @schema@.registration_invite_bindings
         WHERE invite_id = p_id;
        INSERT INTO @schema@.registration_events
               (service, jid, event, iq_id, detail)
        VALUES (p_service, coalesce(p_actor, ''), 'invite_revoked', p_iq_id,
                jsonb_strip_nulls(jsonb_build_object(
                    'invite', p_id, 'label', inv.label, 'uses', inv.uses,
                    'actor', p_actor,
                    'db_user', CASE WHEN p_actor IS NULL THEN session_user
                               END)))
        RETURNING registration_events.id INTO event_id;
    END IF;
END
$$;

-- ---- redeem -----------------------------------------------------------------

-- XEP-0445 <preauth/>: when p_token is a usable invitation of p_service
-- for p_jid, binds it to p_jid for p_ttl (a later binding replaces an
-- earlier one) and returns true; false otherwise.  Uses nothing.
CREATE FUNCTION @schema@.registrar_invite_bind(p_service text, p_token text,
                                               p_jid text, p_ttl interval)
    RETURNS boolean LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    inv @schema@.registration_invites;
BEGIN
    SELECT * INTO inv FROM @schema@.registration_invites i
     WHERE i.token_hash = @schema@.registrar_invite_hash(p_token)
       AND i.service = p_service;
    IF NOT @schema@.registrar_invite_usable(inv, p_jid, true) THEN
        RETURN false;
    END IF;
    INSERT INTO @schema@.registration_invite_bindings
           (service, jid, invite_id, expires_at)
    VALUES (p_service, p_jid, inv.id, now() + p_ttl)
    ON CONFLICT (service, jid) DO UPDATE
       SET invite_id = EXCLUDED.invite_id, expires_at = EXCLUDED.expires_at;
    RETURN true;
END
$$;

-- registrar_put_event (sql/012) with an invitation: p_token (NULL: the
-- one bound to p_jid by a <preauth/>, if any); p_required: a new
-- registration needs one.  Outcomes: those of registrar_put_event, and
--   'invite_invalid'   p_token is unknown, expired, revoked, used up or
--                      bound to another JID or domain (nothing written)
--   'invite_required'  p_required, no token nor binding, and p_jid not
--                      registered (nothing written)
-- An update of a registration on file uses no invitation (a token given
-- is still checked).  A creation with one counts its use, records the
-- redemption and writes 'invite_redeemed' after 'registered'; event_id
-- is the registration's event, state the state a creation starts in (the
-- invitation's initial state over the service's; NULL otherwise).
CREATE FUNCTION @schema@.registrar_put_invite_event(p_service text,
                                                    p_jid text,
                                                    p_username text,
                                                    p_fields jsonb,
                                                    p_password_hash text,
                                                    p_state text,
                                                    p_consents jsonb,
                                                    p_iq_id text,
                                                    p_actor text,
                                                    p_keep text[],
                                                    p_token text,
                                                    p_required boolean,
                                                    OUT outcome text,
                                                    OUT reason text,
                                                    OUT state text,
                                                    OUT event_id bigint)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    inv @schema@.registration_invites;
    registered boolean;
    ignored text;
BEGIN
    -- the order of every writer: the lock first, then the rows
    ignored := pg_advisory_xact_lock(7454127761211159138)::text;
    IF p_token IS NOT NULL THEN
        SELECT * INTO inv FROM @schema@.registration_invites i
         WHERE i.token_hash = @schema@.registrar_invite_hash(p_token)
           AND i.service = p_service
           FOR UPDATE;
        IF NOT @schema@.registrar_invite_usable(inv, p_jid, true) THEN
            outcome := 'invite_invalid';
            RETURN;
        END IF;
    ELSE
        SELECT i.* INTO inv
          FROM @schema@.registration_invite_bindings b
          JOIN @schema@.registration_invites i ON i.id = b.invite_id
         WHERE b.service = p_service AND b.jid = p_jid
           AND b.expires_at > now()
           FOR UPDATE OF i;
        IF NOT @schema@.registrar_invite_usable(inv, p_jid, false) THEN
            inv := NULL; -- as if there were none
        END IF;
    END IF;
    registered := EXISTS (SELECT 1 FROM @schema@.registrations r
                           WHERE r.service = p_service AND r.jid = p_jid);
    IF registered THEN
        inv := NULL;
    ELSIF inv.id IS NULL AND p_required THEN
        outcome := 'invite_required';
        RETURN;
    END IF;
    SELECT e.outcome, e.reason, e.event_id INTO outcome, reason, event_id
      FROM @schema@.registrar_put_event(p_service, p_jid, p_username,
               CASE WHEN inv.id IS NULL THEN p_fields
                    ELSE inv.fields || p_fields END,
               p_password_hash, coalesce(inv.initial_state, p_state),
               p_consents, p_iq_id, p_actor, p_keep) e;
    IF outcome = 'created' THEN
        -- the state it was created in: the invitation's over the service's
        state := coalesce(inv.initial_state, p_state, 'active');
    END IF;
    IF outcome = 'created' AND inv.id IS NOT NULL THEN
        UPDATE @schema@.registration_invites SET uses = uses + 1
         WHERE id = inv.id;
        DELETE FROM @schema@.registration_invite_bindings
         WHERE service = p_service AND jid = p_jid;
        INSERT INTO @schema@.registration_invite_redemptions
               (invite_id, service, jid, event_id)
        VALUES (inv.id, p_service, p_jid, event_id);
        INSERT INTO @schema@.registration_events
               (service, jid, event, iq_id, detail)
        VALUES (p_service, p_jid, 'invite_redeemed', p_iq_id,
                jsonb_strip_nulls(jsonb_build_object(
                    'invite', inv.id, 'label', inv.label,
                    'via', CASE WHEN p_token IS NULL THEN 'preauth'
                                ELSE 'token' END)));
    END IF;
END
$$;

-- Whether a <preauth/> bound a usable invitation to p_jid (the binding
-- not expired, the invitation not revoked nor used up), and its field
-- values, for the form that JID gets: no row when none; else one row per
-- value in the order of registrar_get's, or one row (NULL, NULL) when it
-- has no values.
CREATE FUNCTION @schema@.registrar_invite_prefill(p_service text, p_jid text)
    RETURNS TABLE (key text, value text)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp AS $$
SELECT f.key, f.value
  FROM @schema@.registration_invite_bindings b
  JOIN @schema@.registration_invites i ON i.id = b.invite_id
  LEFT JOIN LATERAL (
      SELECT e.key, v.value, v.n
        FROM pg_catalog.jsonb_each(i.fields) e
       CROSS JOIN LATERAL pg_catalog.jsonb_array_elements_text(
           CASE pg_catalog.jsonb_typeof(e.value) WHEN 'array' THEN e.value
                ELSE pg_catalog.jsonb_build_array(e.value) END)
           WITH ORDINALITY v(value, n)) f ON true
 WHERE b.service = p_service AND b.jid = p_jid AND b.expires_at > now()
   AND @schema@.registrar_invite_usable(i, p_jid, false)
 ORDER BY f.key, f.n
$$;

-- ---- for admins and backends --------------------------------------------------

-- Every invitation, without its hash: its state ('usable', 'expired',
-- 'revoked', 'used') and its redemptions.
CREATE VIEW @schema@.registration_invites_admin AS
SELECT i.id, i.service, i.label, i.creator, i.created_at, i.expires_at,
       i.max_uses, i.uses, i.bound_to, i.initial_state, i.fields,
       i.revoked_at, i.revoked_by,
       CASE WHEN i.revoked_at IS NOT NULL THEN 'revoked'
            WHEN i.max_uses IS NOT NULL AND i.uses >= i.max_uses THEN 'used'
            WHEN i.expires_at IS NOT NULL AND i.expires_at <= now()
                THEN 'expired'
            ELSE 'usable' END AS state,
       coalesce((SELECT jsonb_agg(jsonb_build_object(
                            'jid', r.jid, 'at', r.at, 'event_id', r.event_id)
                        ORDER BY r.at)
                   FROM @schema@.registration_invite_redemptions r
                  WHERE r.invite_id = i.id), '[]'::jsonb) AS redemptions
  FROM @schema@.registration_invites i;

COMMENT ON VIEW @schema@.registration_invites_admin IS
    'invitations without their token hash, with their state and '
    'redemptions (sql/013)';

-- Until sql/roles.sql runs after this migration, the new functions
-- belong to the role that migrates.
REVOKE EXECUTE ON FUNCTION
    @schema@.registrar_invite_create(text, text, interval, integer, text,
                                     text, jsonb, text, text, text),
    @schema@.registrar_invite_revoke(text, bigint, text, text),
    @schema@.registrar_invite_bind(text, text, text, interval),
    @schema@.registrar_invite_prefill(text, text),
    @schema@.registrar_put_invite_event(text, text, text, jsonb, text, text,
                                        jsonb, text, text, text[], text,
                                        boolean)
    FROM PUBLIC;

-- ---- forgetting a JID covers the invitations ---------------------------

-- registrar_forget_jid (010) with what this migration keeps of a JID: its
-- redemptions and its <preauth/> bindings go; an invitation it created
-- or revoked keeps its row (other JIDs' redemptions hang on it) with the
-- creator or revoker named 'forgotten'.  The same signature, owner and
-- grants.
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
    UPDATE @schema@.registration_invites SET creator = 'forgotten'
     WHERE creator = p_jid;
    UPDATE @schema@.registration_invites SET revoked_by = 'forgotten'
     WHERE revoked_by = p_jid;
    ignored := set_config('registrar.op', '', true)
               || set_config('registrar.maintenance', '', true);
END
$$;
