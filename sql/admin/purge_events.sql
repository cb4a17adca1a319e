-- Delete the events older than N days (every service), in one
-- transaction.  A backend reading "id > $last" is not disturbed: only old
-- ids go.
--
-- registration_events is append-only (sql/005): this transaction sets
-- registrar.maintenance = on, which its trigger requires, and it needs a
-- role with DELETE on registration_events (a superuser, or an admin role
-- granted it); registrar's own role has none.
--   psql -v days=365 -f sql/admin/purge_events.sql
\set ON_ERROR_STOP on
BEGIN;
SELECT set_config('registrar.maintenance', 'on', true) AS maintenance;
WITH gone AS (
    DELETE FROM registration_events
     WHERE at < now() - make_interval(days => (:'days')::int)
    RETURNING id
)
SELECT count(*) AS events_purged FROM gone;
COMMIT;
