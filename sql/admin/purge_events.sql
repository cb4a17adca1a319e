-- Delete the events older than N days (every service), in one
-- transaction, through the owner's function registrar_purge_events()
-- (sql/010): run it as a role granted registrar_admin (or a superuser).
-- A backend reading "id > $last" is not disturbed: only old ids go.
--   psql -v days=365 -f sql/admin/purge_events.sql
\set ON_ERROR_STOP on
SELECT registrar_purge_events(make_interval(days => (:'days')::int))
           AS events_purged;
