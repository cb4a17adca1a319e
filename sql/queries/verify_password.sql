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
-- the user's hash or else a dummy hash of the same cost (10, registrar's
-- default hash_cost; use a dummy of your hash_cost if you changed it), so
-- the time taken does not tell who is registered.  The username is
-- compared by its key (sql/003_username_rule.sql), as the unique index
-- does.
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
), checked AS MATERIALIZED (
    SELECT hash,
           crypt(:'password',
                 coalesce(hash, '$2a$10$bVgpvM/ka.wMA8egbx9tYOAuvd/ZS1Yx82R6QgXJ.CibzE4SPsBMS'))
               AS computed
      FROM found
)
SELECT coalesce(hash = computed, false) AS password_ok
  FROM checked;
