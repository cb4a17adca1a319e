-- tests/bench/pgbench/put_upd1.sql: an update per op of a registration of
-- bench.localhost through registrar_put_event: "last" changes (an
-- 'updated' event), as loadgen's update workload; 1 op(s) per
-- transaction, sent as the daemon sends a batch (BEGIN, the statements,
-- COMMIT in one pipeline).  Written by gen.py; measured by cpu.sh.
\set k0 random(1, 10000)
\set n0 random(1, 2000000000)
\startpipeline
BEGIN;
SELECT outcome, reason, event_id FROM registrar_put_event('bench.localhost',
    'u' || :k0 || '@localhost', NULL,
    ('{"first": "Bench", "last": "User ' || :n0 || '", "email": "u' || :k0 || '@example.org"}')::jsonb,
    NULL, 'active', '{}', 'q' || :n0, NULL, '{}');
COMMIT;
\endpipeline
