-- Does this password belong to this user?  Needs the pgcrypto extension
-- (CREATE EXTENSION pgcrypto; it is a trusted extension since PG 13).
--   psql -v service=accounts.example -v username=bill -v password=... \
--        -f sql/queries/verify_password.sql
SELECT coalesce(bool_or(password_hash = crypt(:'password', password_hash)),
                false) AS password_ok
  FROM registrations
 WHERE service = :'service'
   AND lower(normalize(username, NFKC)) = lower(normalize(:'username', NFKC));
