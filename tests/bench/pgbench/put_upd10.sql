-- tests/bench/pgbench/put_upd10.sql: an update per op of a registration
-- of bench.localhost through registrar_put_event: "last" changes (an
-- 'updated' event), as loadgen's update workload; 10 op(s) per
-- transaction, sent as the daemon sends a batch (BEGIN, the statements,
-- COMMIT in one pipeline).  Written by gen.py; measured by cpu.sh.
\set k0 random(1, 10000)
\set n0 random(1, 2000000000)
\set k1 random(1, 10000)
\set n1 random(1, 2000000000)
\set k2 random(1, 10000)
\set n2 random(1, 2000000000)
\set k3 random(1, 10000)
\set n3 random(1, 2000000000)
\set k4 random(1, 10000)
\set n4 random(1, 2000000000)
\set k5 random(1, 10000)
\set n5 random(1, 2000000000)
\set k6 random(1, 10000)
\set n6 random(1, 2000000000)
\set k7 random(1, 10000)
\set n7 random(1, 2000000000)
\set k8 random(1, 10000)
\set n8 random(1, 2000000000)
\set k9 random(1, 10000)
\set n9 random(1, 2000000000)
\startpipeline
BEGIN;
SELECT outcome, reason, event_id FROM registrar_put_event('bench.localhost',
    'u' || :k0 || '@localhost', NULL,
    ('{"first": "Bench", "last": "User ' || :n0 || '", "email": "u' || :k0 || '@example.org"}')::jsonb,
    NULL, 'active', '{}', 'q' || :n0, NULL, '{}');
SELECT outcome, reason, event_id FROM registrar_put_event('bench.localhost',
    'u' || :k1 || '@localhost', NULL,
    ('{"first": "Bench", "last": "User ' || :n1 || '", "email": "u' || :k1 || '@example.org"}')::jsonb,
    NULL, 'active', '{}', 'q' || :n1, NULL, '{}');
SELECT outcome, reason, event_id FROM registrar_put_event('bench.localhost',
    'u' || :k2 || '@localhost', NULL,
    ('{"first": "Bench", "last": "User ' || :n2 || '", "email": "u' || :k2 || '@example.org"}')::jsonb,
    NULL, 'active', '{}', 'q' || :n2, NULL, '{}');
SELECT outcome, reason, event_id FROM registrar_put_event('bench.localhost',
    'u' || :k3 || '@localhost', NULL,
    ('{"first": "Bench", "last": "User ' || :n3 || '", "email": "u' || :k3 || '@example.org"}')::jsonb,
    NULL, 'active', '{}', 'q' || :n3, NULL, '{}');
SELECT outcome, reason, event_id FROM registrar_put_event('bench.localhost',
    'u' || :k4 || '@localhost', NULL,
    ('{"first": "Bench", "last": "User ' || :n4 || '", "email": "u' || :k4 || '@example.org"}')::jsonb,
    NULL, 'active', '{}', 'q' || :n4, NULL, '{}');
SELECT outcome, reason, event_id FROM registrar_put_event('bench.localhost',
    'u' || :k5 || '@localhost', NULL,
    ('{"first": "Bench", "last": "User ' || :n5 || '", "email": "u' || :k5 || '@example.org"}')::jsonb,
    NULL, 'active', '{}', 'q' || :n5, NULL, '{}');
SELECT outcome, reason, event_id FROM registrar_put_event('bench.localhost',
    'u' || :k6 || '@localhost', NULL,
    ('{"first": "Bench", "last": "User ' || :n6 || '", "email": "u' || :k6 || '@example.org"}')::jsonb,
    NULL, 'active', '{}', 'q' || :n6, NULL, '{}');
SELECT outcome, reason, event_id FROM registrar_put_event('bench.localhost',
    'u' || :k7 || '@localhost', NULL,
    ('{"first": "Bench", "last": "User ' || :n7 || '", "email": "u' || :k7 || '@example.org"}')::jsonb,
    NULL, 'active', '{}', 'q' || :n7, NULL, '{}');
SELECT outcome, reason, event_id FROM registrar_put_event('bench.localhost',
    'u' || :k8 || '@localhost', NULL,
    ('{"first": "Bench", "last": "User ' || :n8 || '", "email": "u' || :k8 || '@example.org"}')::jsonb,
    NULL, 'active', '{}', 'q' || :n8, NULL, '{}');
SELECT outcome, reason, event_id FROM registrar_put_event('bench.localhost',
    'u' || :k9 || '@localhost', NULL,
    ('{"first": "Bench", "last": "User ' || :n9 || '", "email": "u' || :k9 || '@example.org"}')::jsonb,
    NULL, 'active', '{}', 'q' || :n9, NULL, '{}');
COMMIT;
\endpipeline
