-- tests/bench/pgbench/floor_remove.sql: the floor of a removal, one per
-- transaction: a row that floor_topup.sql put in deleted, and its event
-- row (written only when a row was deleted), in one pipelined
-- transaction.  Each client removes its own keys, base + k * clients +
-- client_id for k = 1, 2, 3 ...: pgbench -D base=B -D clients=C -D k=0
-- (bench.py puts in the rows from base on; the events counted are the
-- removals made).
\set k :k + 1
\set key :base + :k * :clients + :client_id
\startpipeline
BEGIN;
WITH d AS (DELETE FROM bench_floor.registrations
            WHERE service = 'floor-rm.localhost'
              AND jid = 'rm' || :key || '@localhost'
        RETURNING service, jid)
INSERT INTO bench_floor.events (service, jid, event, iq_id, detail)
SELECT service, jid, 'removed', 'q' || :key, '{}' FROM d;
COMMIT;
\endpipeline
