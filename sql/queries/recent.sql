-- The newest registrations of one service, without secrets.
--   psql -v service=contests.example -f sql/queries/recent.sql
SELECT jid, username, fields, created_at, updated_at
  FROM registrations_admin
 WHERE service = :'service'
 ORDER BY created_at DESC
 LIMIT 50;
