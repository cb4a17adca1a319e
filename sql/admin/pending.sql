-- The pending queue of one service (view registrations_pending, sql/006):
-- oldest first, with how long each has waited.  Activate one with
--   UPDATE registrations SET state = 'active'
--    WHERE service = '...' AND jid = '...';
-- (an event state_changed is logged by the trigger, sql/005).
--   psql -v service=contests.example -f sql/admin/pending.sql
SELECT jid, username, fields, consents, created_at, waiting
  FROM registrations_pending
 WHERE service = :'service';
