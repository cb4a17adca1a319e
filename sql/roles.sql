-- roles.sql: who may do what in registrar's schema.  Not a migration: the
-- state the privileges must be in, applied by `registrar --migrate` after
-- the migrations, in their transaction, every time it runs as a role that
-- may create roles (a superuser, or CREATEROLE); any later migration that
-- adds an object adds its line here.  @schema@ is the schema migrated
-- (see 010).  Roles are the cluster's: every database of registrar on the
-- cluster shares them.
--
--   registrar_owner    NOLOGIN.  Owns every table, view, sequence and
--                      function.  Nobody logs in as it; its functions
--                      (SECURITY DEFINER, search_path pinned) are the only
--                      way to write registrations, bans and events.
--   registrar_service  registrar's own role (GRANT registrar_service TO
--                      the role of registrar's conninfo): SELECT on
--                      registrations (it verifies secrets), the events,
--                      the bans and the migrations table, and on
--                      registrations_admin (registrar admin's show and
--                      export: less than registrations), EXECUTE on its
--                      write functions.
--                      No INSERT, UPDATE, DELETE, no ownership: it cannot
--                      alter, grant on or delete from registration_events.
--   registrar_reader   the views, the events and the bans; no hash of any
--                      kind (no SELECT on registrations itself).
--   registrar_backend  registrar_reader, and changing a registration's
--                      state (UPDATE (state, disabled_reason) with SELECT
--                      of the columns needed to find the row): the
--                      service's backend.  Its changes are events with its
--                      db_user.
--   registrar_admin    registrar_backend, and erasure, purge and lifting a
--                      ban through the owner's functions
--                      (registrar_forget_jid, registrar_purge_events,
--                      registrar_lift_ban).
DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['registrar_owner', 'registrar_service',
                             'registrar_reader', 'registrar_backend',
                             'registrar_admin'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles
                        WHERE rolname = r) THEN
            EXECUTE pg_catalog.format('CREATE ROLE %I NOLOGIN', r);
        END IF;
    END LOOP;
    -- whatever made it: the owner is never a login, nor a superuser
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles
                WHERE rolname = 'registrar_owner'
                  AND (rolcanlogin OR rolsuper)) THEN
        RAISE EXCEPTION 'the role registrar_owner can log in or is a '
            'superuser: make it NOLOGIN NOSUPERUSER first';
    END IF;
END
$$;

GRANT registrar_reader TO registrar_backend;
GRANT registrar_backend TO registrar_admin;

-- Everything of registrar's in the schema (not an extension's, such as
-- pgcrypto's functions) belongs to registrar_owner.  A sequence that a
-- column owns follows its table.
DO $$
DECLARE
    o record;
BEGIN
    FOR o IN
        SELECT c.oid::pg_catalog.regclass AS name,
               CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'S' THEN 'SEQUENCE'
                              WHEN 'm' THEN 'MATERIALIZED VIEW'
                              ELSE 'TABLE' END AS kind
          FROM pg_catalog.pg_class c
         WHERE c.relnamespace = '@schema@'::pg_catalog.regnamespace
           AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
           AND (c.relname LIKE 'registration%' OR c.relname LIKE 'registrar%')
           AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                            WHERE d.classid = 'pg_catalog.pg_class'::regclass
                              AND d.objid = c.oid
                              AND d.deptype IN ('e', 'a'))
           AND c.relowner <> 'registrar_owner'::pg_catalog.regrole
    LOOP
        EXECUTE pg_catalog.format('ALTER %s %s OWNER TO registrar_owner',
                                  o.kind, o.name);
    END LOOP;
    FOR o IN
        SELECT p.oid::pg_catalog.regprocedure AS name
          FROM pg_catalog.pg_proc p
         WHERE p.pronamespace = '@schema@'::pg_catalog.regnamespace
           AND (p.proname LIKE 'registration%' OR p.proname LIKE 'registrar%')
           AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                            WHERE d.classid = 'pg_catalog.pg_proc'::regclass
                              AND d.objid = p.oid AND d.deptype = 'e')
           AND p.proowner <> 'registrar_owner'::pg_catalog.regrole
    LOOP
        EXECUTE pg_catalog.format('ALTER FUNCTION %s OWNER TO registrar_owner',
                                  o.name);
    END LOOP;
END
$$;

-- The event triggers of registrations tell the owner's statements from
-- other roles' by the owner's name (sql/012): written again when the loop
-- above gave the tables to registrar_owner.
SELECT @schema@.registrar_trust_owner();

-- The audit trail and the bans: written by the owner's functions only.
-- Whatever anyone was granted before (005's README suggested DELETE for an
-- admin role) goes; the owner keeps INSERT, SELECT and DELETE (its purge
-- and erasure functions), never UPDATE or TRUNCATE.
DO $$
DECLARE
    g record;
BEGIN
    FOR g IN
        SELECT DISTINCT c.oid::pg_catalog.regclass AS tab,
               a.grantee
          FROM pg_catalog.pg_class c,
               LATERAL pg_catalog.aclexplode(c.relacl) a
         WHERE c.oid IN ('@schema@.registration_events'::pg_catalog.regclass,
                         '@schema@.registration_bans'::pg_catalog.regclass)
           AND a.grantee <> c.relowner
           AND a.privilege_type <> 'SELECT'
    LOOP
        EXECUTE pg_catalog.format(
            'REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER '
            'ON %s FROM %s', g.tab,
            CASE g.grantee WHEN 0 THEN 'PUBLIC'
                 ELSE pg_catalog.quote_ident(
                          pg_catalog.pg_get_userbyid(g.grantee)) END);
    END LOOP;
END
$$;
REVOKE UPDATE, TRUNCATE ON @schema@.registration_events FROM registrar_owner;
GRANT SELECT, INSERT, DELETE ON @schema@.registration_events TO registrar_owner;

REVOKE ALL ON @schema@.registrations, @schema@.registration_events,
              @schema@.registration_bans,
              @schema@.registrar_schema_migrations,
              @schema@.registrations_admin, @schema@.registrations_daily,
              @schema@.registrations_active, @schema@.registrations_pending,
              @schema@.registration_signups_daily
    FROM PUBLIC;
GRANT USAGE ON SCHEMA @schema@
    TO registrar_service, registrar_reader;

-- Functions run by anyone: pure helpers, and what the constraints and the
-- triggers call in the name of whoever changes a row (not the trigger
-- functions themselves: below).  The writes and the admin's functions:
-- only their roles.
REVOKE EXECUTE ON FUNCTION
    @schema@.registrar_put_checked(text, text, text, jsonb, text, text,
                                   jsonb, text, text, text[]),
    @schema@.registrar_put_outcome(text, text, text, jsonb, text, text,
                                   jsonb, text, text, text[]),
    @schema@.registrar_put(text, text, text, jsonb, text, text, jsonb, text,
                           text),
    @schema@.registrar_remove(text, text, text, text),
    @schema@.registrar_set_password(text, text, text, text, text),
    @schema@.registrar_set_state(text, text, text, text, text),
    @schema@.registrar_set_state_from(text, text, text, text, text, text),
    @schema@.registrar_set_state_from(text, text, text, text, text, text,
                                      text),
    @schema@.registrar_unban(text, text, text, text),
    @schema@.registrar_put_event(text, text, text, jsonb, text, text, jsonb,
                                 text, text, text[]),
    @schema@.registrar_remove_event(text, text, text, text),
    @schema@.registrar_set_password_event(text, text, text, text, text),
    @schema@.registrar_set_state_event(text, text, text, text, text, text,
                                       text),
    @schema@.registrar_unban_event(text, text, text, text),
    @schema@.registrar_lift_ban(text, text),
    @schema@.registrar_forget_jid(text),
    @schema@.registrar_purge_events(interval),
    @schema@.registrar_trust_owner()
    FROM PUBLIC;
-- Trigger functions: a trigger runs its function whatever the rights of
-- who fired it; EXECUTE would let a role put one (a SECURITY DEFINER one:
-- an event of its choosing, as the owner) in a trigger of its own.
REVOKE EXECUTE ON FUNCTION
    @schema@.registrations_event(),
    @schema@.registrations_event_owner(),
    @schema@.registration_events_notify(),
    @schema@.registration_events_track(),
    @schema@.registration_events_append_only(),
    @schema@.registrar_events_serialise(),
    @schema@.registrations_disabled_stamp()
    FROM PUBLIC;

-- registrar (the events: to tell whether a write it must send again after
-- a lost connection was committed the first time; registrations_admin:
-- what `registrar admin show` and `export` print, without hashes)
GRANT SELECT ON @schema@.registrations, @schema@.registrar_schema_migrations,
                @schema@.registration_events, @schema@.registration_bans,
                @schema@.registrations_admin
    TO registrar_service;
GRANT EXECUTE ON FUNCTION
    @schema@.registrar_put_checked(text, text, text, jsonb, text, text,
                                   jsonb, text, text, text[]),
    @schema@.registrar_put_outcome(text, text, text, jsonb, text, text,
                                   jsonb, text, text, text[]),
    @schema@.registrar_remove(text, text, text, text),
    @schema@.registrar_set_password(text, text, text, text, text),
    @schema@.registrar_set_state_from(text, text, text, text, text, text),
    @schema@.registrar_set_state_from(text, text, text, text, text, text,
                                      text),
    @schema@.registrar_unban(text, text, text, text),
    @schema@.registrar_put_event(text, text, text, jsonb, text, text, jsonb,
                                 text, text, text[]),
    @schema@.registrar_remove_event(text, text, text, text),
    @schema@.registrar_set_password_event(text, text, text, text, text),
    @schema@.registrar_set_state_event(text, text, text, text, text, text,
                                       text),
    @schema@.registrar_unban_event(text, text, text, text)
    TO registrar_service;

-- readers
GRANT SELECT ON @schema@.registrations_admin, @schema@.registrations_daily,
                @schema@.registrations_active, @schema@.registrations_pending,
                @schema@.registration_signups_daily,
                @schema@.registration_events, @schema@.registration_bans,
                @schema@.registrar_schema_migrations
    TO registrar_reader;

-- backends: find a row, change its state (and say why it is disabled)
GRANT SELECT (service, jid, username, state, created_at, updated_at,
              disabled_reason),
      UPDATE (state, disabled_reason)
    ON @schema@.registrations TO registrar_backend;

-- admins
GRANT EXECUTE ON FUNCTION
    @schema@.registrar_lift_ban(text, text),
    @schema@.registrar_forget_jid(text),
    @schema@.registrar_purge_events(interval)
    TO registrar_admin;

-- invitations (sql/013): nobody but the owner reads the token hashes;
-- the daemon creates, revokes, binds and redeems, and lists through the
-- view; readers see the view; admins create and revoke in SQL too
REVOKE ALL ON @schema@.registration_invites,
              @schema@.registration_invite_redemptions,
              @schema@.registration_invite_bindings,
              @schema@.registration_invites_admin
    FROM PUBLIC;
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
GRANT SELECT ON @schema@.registration_invites_admin
    TO registrar_service, registrar_reader;
GRANT EXECUTE ON FUNCTION
    @schema@.registrar_invite_create(text, text, interval, integer, text,
                                     text, jsonb, text, text, text),
    @schema@.registrar_invite_revoke(text, bigint, text, text),
    @schema@.registrar_invite_bind(text, text, text, interval),
    @schema@.registrar_invite_prefill(text, text),
    @schema@.registrar_put_invite_event(text, text, text, jsonb, text, text,
                                        jsonb, text, text, text[], text,
                                        boolean)
    TO registrar_service;
GRANT EXECUTE ON FUNCTION
    @schema@.registrar_invite_create(text, text, interval, integer, text,
                                     text, jsonb, text, text, text),
    @schema@.registrar_invite_revoke(text, bigint, text, text)
    TO registrar_admin;
-- messages to users (sql/014): registrar claims the state changes to
-- tell; readers see how far each service's claims went
REVOKE ALL ON @schema@.registrar_message_cursors FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    @schema@.registrar_claim_state_changes(text, integer)
    TO registrar_service;
GRANT SELECT ON @schema@.registrar_message_cursors TO registrar_reader;
-- challenges (sql/015): registrar issues, checks and reads the status;
-- nobody but the owner reads the tables (the answers' hashes)
REVOKE ALL ON @schema@.registration_challenges,
              @schema@.registration_challenge_failures
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    @schema@.registrar_challenge_issue(text, text, interval, text[], bytea,
                                       text),
    @schema@.registrar_challenge_image(text, text),
    @schema@.registrar_challenge_check(text, text, text, text, integer,
                                       interval),
    @schema@.registrar_challenge_status(text, text, interval)
    TO registrar_service;
