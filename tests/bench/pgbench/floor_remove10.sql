-- tests/bench/pgbench/floor_remove10.sql: ten removals per
-- transaction: ten copies of floor_remove.sql's statement (a row deleted,
-- its event row), each its own key, in one pipelined transaction.
-- pgbench -D base=B -D clients=C -D k=0, as floor_remove.sql.  Written
-- from floor_remove.sql; keep the two alike.
\set k :k + 1
\set key0 :base + :k * :clients + :client_id
\set k :k + 1
\set key1 :base + :k * :clients + :client_id
\set k :k + 1
\set key2 :base + :k * :clients + :client_id
\set k :k + 1
\set key3 :base + :k * :clients + :client_id
\set k :k + 1
\set key4 :base + :k * :clients + :client_id
\set k :k + 1
\set key5 :base + :k * :clients + :client_id
\set k :k + 1
\set key6 :base + :k * :clients + :client_id
\set k :k + 1
\set key7 :base + :k * :clients + :client_id
\set k :k + 1
\set key8 :base + :k * :clients + :client_id
\set k :k + 1
\set key9 :base + :k * :clients + :client_id
\startpipeline
BEGIN;
WITH d AS (DELETE FROM bench_floor.registrations
            WHERE service = 'floor-rm.localhost'
              AND jid = 'rm' || :key0 || '@localhost'
        RETURNING service, jid)
INSERT INTO bench_floor.events (service, jid, event, iq_id, detail)
SELECT service, jid, 'removed', 'q' || :key0, '{}' FROM d;
WITH d AS (DELETE FROM bench_floor.registrations
            WHERE service = 'floor-rm.localhost'
              AND jid = 'rm' || :key1 || '@localhost'
        RETURNING service, jid)
INSERT INTO bench_floor.events (service, jid, event, iq_id, detail)
SELECT service, jid, 'removed', 'q' || :key1, '{}' FROM d;
WITH d AS (DELETE FROM bench_floor.registrations
            WHERE service = 'floor-rm.localhost'
              AND jid = 'rm' || :key2 || '@localhost'
        RETURNING service, jid)
INSERT INTO bench_floor.events (service, jid, event, iq_id, detail)
SELECT service, jid, 'removed', 'q' || :key2, '{}' FROM d;
WITH d AS (DELETE FROM bench_floor.registrations
            WHERE service = 'floor-rm.localhost'
              AND jid = 'rm' || :key3 || '@localhost'
        RETURNING service, jid)
INSERT INTO bench_floor.events (service, jid, event, iq_id, detail)
SELECT service, jid, 'removed', 'q' || :key3, '{}' FROM d;
WITH d AS (DELETE FROM bench_floor.registrations
            WHERE service = 'floor-rm.localhost'
              AND jid = 'rm' || :key4 || '@localhost'
        RETURNING service, jid)
INSERT INTO bench_floor.events (service, jid, event, iq_id, detail)
SELECT service, jid, 'removed', 'q' || :key4, '{}' FROM d;
WITH d AS (DELETE FROM bench_floor.registrations
            WHERE service = 'floor-rm.localhost'
              AND jid = 'rm' || :key5 || '@localhost'
        RETURNING service, jid)
INSERT INTO bench_floor.events (service, jid, event, iq_id, detail)
SELECT service, jid, 'removed', 'q' || :key5, '{}' FROM d;
WITH d AS (DELETE FROM bench_floor.registrations
            WHERE service = 'floor-rm.localhost'
              AND jid = 'rm' || :key6 || '@localhost'
        RETURNING service, jid)
INSERT INTO bench_floor.events (service, jid, event, iq_id, detail)
SELECT service, jid, 'removed', 'q' || :key6, '{}' FROM d;
WITH d AS (DELETE FROM bench_floor.registrations
            WHERE service = 'floor-rm.localhost'
              AND jid = 'rm' || :key7 || '@localhost'
        RETURNING service, jid)
INSERT INTO bench_floor.events (service, jid, event, iq_id, detail)
SELECT service, jid, 'removed', 'q' || :key7, '{}' FROM d;
WITH d AS (DELETE FROM bench_floor.registrations
            WHERE service = 'floor-rm.localhost'
              AND jid = 'rm' || :key8 || '@localhost'
        RETURNING service, jid)
INSERT INTO bench_floor.events (service, jid, event, iq_id, detail)
SELECT service, jid, 'removed', 'q' || :key8, '{}' FROM d;
WITH d AS (DELETE FROM bench_floor.registrations
            WHERE service = 'floor-rm.localhost'
              AND jid = 'rm' || :key9 || '@localhost'
        RETURNING service, jid)
INSERT INTO bench_floor.events (service, jid, event, iq_id, detail)
SELECT service, jid, 'removed', 'q' || :key9, '{}' FROM d;
COMMIT;
\endpipeline
