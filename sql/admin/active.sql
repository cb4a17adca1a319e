-- Active registrations of one service, without secrets (view
-- registrations_active, sql/006), oldest first.
--   psql -v service=contests.example -f sql/admin/active.sql
SELECT jid, username, fields, has_password, consents, created_at,
       updated_at
  FROM registrations_active
 WHERE service = :'service'
 ORDER BY created_at, jid;
