-- Does this password belong to this user?  Needs the pgcrypto extension
-- (CREATE EXTENSION pgcrypto; it is a trusted extension since PG 13).
--
-- The password never goes on a command line (ps and /proc show every
-- user's arguments): it comes from the environment variable
-- REGISTRAR_PASSWORD when set, otherwise psql reads it from standard input
-- (with -f, \prompt reads stdin: the terminal, or a pipe):
--   psql -v service=accounts.example -v username=bill \
--        -f sql/queries/verify_password.sql
--   REGISTRAR_PASSWORD=... psql -v service=... -v username=... -f ...
--
-- The same work whether or not the username exists: one crypt(), against
-- the user's hash or else against a dummy salt of the same cost, so the
-- time taken does not tell who is registered.  The dummy's cost is the
-- service's registration.hash_cost (registrar.conf, default 10), found as:
--   1. the setting registrar.hash_cost when given, e.g.
--        PGOPTIONS='-c registrar.hash_cost=12' psql -v service=... -f ...
--      or once for good: ALTER ROLE ... SET registrar.hash_cost = 12;
--   2. else the cost of the service's newest hash on file (registrar
--      writes every hash with its hash_cost);
--   3. else 10, registrar's default, when the service has no hash yet.
-- (A setting, not a psql variable: the query runs as it is through any
-- client, psql's variables for the values aside.)
-- The username is compared by its key (sql/003_username_rule.sql), as the
-- unique index does.
\getenv password REGISTRAR_PASSWORD
\if :{?password}
\else
\prompt 'Password: ' password
\endif
WITH found AS (
    -- always exactly one row (an aggregate): the hash, or NULL
    SELECT max(password_hash) AS hash
      FROM registrations
     WHERE service = :'service'
       AND registrar_username_key(username)
           = registrar_username_key(:'username')
), cost AS (
    -- the dummy's cost (see above), worked out whether or not it is
    -- needed: the same work either way; one row
    SELECT coalesce(
               nullif(current_setting('registrar.hash_cost', true), '')::int,
               (SELECT substr(password_hash, 5, 2)::int
                  FROM registrations
                 WHERE service = :'service'
                   AND password_hash LIKE '$2a$__$%'
                 ORDER BY created_at DESC
                 LIMIT 1),
               10) AS n
), checked AS MATERIALIZED (
    SELECT hash,
           crypt(:'password', coalesce(hash, gen_salt('bf', cost.n)))
               AS computed
      FROM found, cost
)
SELECT coalesce(hash = computed, false) AS password_ok
  FROM checked;
