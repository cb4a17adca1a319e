-- Forget one bare JID everywhere (a data protection erasure request): its
-- registrations in every service and all its events, in one transaction.
--
-- registration_events is append-only (sql/005): this transaction sets
-- registrar.maintenance = on, which its trigger requires, and it needs a
-- role with DELETE on registration_events (a superuser, or an admin role
-- granted it: GRANT DELETE ON registration_events TO registrar_admin);
-- registrar's own role has none.
--
-- Removing the registrations logs "removed" events, deleted here too; the
-- commit still sends one NOTIFY registrar naming the JID and "removed", so
-- a backend that mirrors registrations forgets it as well (reading
-- id > $last then finds nothing for it).
--   psql -v jid=juliet@capulet.example -f sql/admin/forget_jid.sql
\set ON_ERROR_STOP on
BEGIN;
SELECT set_config('registrar.maintenance', 'on', true) AS maintenance;
WITH gone AS (
    DELETE FROM registrations WHERE jid = :'jid' RETURNING service
)
SELECT count(*) AS registrations_forgotten FROM gone;
WITH gone AS (
    DELETE FROM registration_events WHERE jid = :'jid' RETURNING id
)
SELECT count(*) AS events_forgotten FROM gone;
COMMIT;
