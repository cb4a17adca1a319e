-- tests/bench/pgbench/floor_setup.sql: the tables of the pgbench floors
-- (floor_*.sql), made by tests/bench/bench.py before the per-statement
-- runs, as the superuser, in the database registrar writes to.
--
-- The floor of a statement is the same row written or read with plain
-- SQL: copies of registrar's two tables (LIKE ... INCLUDING ALL: the same
-- columns, defaults, CHECK constraints and indexes) with no trigger, no
-- function, no advisory lock and no NOTIFY, and a write adds its one
-- event row itself.  Rows, as registrar's bench services hold them:
--   floor.localhost      bench1..bench:rows (the sessions' JIDs): read
--                        (floor_get) and updated (floor_update)
--   floor-new.localhost  a fresh row per registration (floor_register)
--   floor-rm.localhost   rows put in before each removal run
--                        (floor_topup.sql), removed one each by
--                        floor_remove
-- psql variable: rows (the number of sessions, e.g. 50).
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS bench_floor CASCADE;
CREATE SCHEMA bench_floor;
CREATE TABLE bench_floor.registrations (LIKE registrations INCLUDING ALL);
CREATE TABLE bench_floor.events (LIKE registration_events INCLUDING ALL);
-- LIKE copies the default of id, registrar's own sequence: one of its own
CREATE SEQUENCE bench_floor.events_id_seq OWNED BY bench_floor.events.id;
ALTER TABLE bench_floor.events
    ALTER COLUMN id SET DEFAULT nextval('bench_floor.events_id_seq');
INSERT INTO bench_floor.registrations (service, jid, fields, state)
SELECT 'floor.localhost', 'bench' || g || '@localhost',
       jsonb_build_object('first', 'Bench', 'last', 'User',
                          'email', 'bench' || g || '@example.org'),
       'active'
  FROM generate_series(1, :rows) g;
ANALYZE bench_floor.registrations;
ANALYZE bench_floor.events;
