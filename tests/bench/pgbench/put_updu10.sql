-- tests/bench/pgbench/put_updu10.sql: an update per op of a registration
-- of benchpw.localhost (its username given again, its hash kept: NULL)
-- through registrar_put_event: "email" changes; 10 op(s) per transaction,
-- sent as the daemon sends a batch (BEGIN, the statements, COMMIT in one
-- pipeline).  Written by gen.py; measured by cpu.sh.
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
SELECT outcome, reason, event_id FROM registrar_put_event('benchpw.localhost',
    'u' || :k0 || '@localhost', 'user' || :k0,
    ('{"email": "u' || :k0 || '+' || :n0 || '@example.org"}')::jsonb,
    NULL, 'active', '{}', 'q' || :n0, NULL, '{}');
SELECT outcome, reason, event_id FROM registrar_put_event('benchpw.localhost',
    'u' || :k1 || '@localhost', 'user' || :k1,
    ('{"email": "u' || :k1 || '+' || :n1 || '@example.org"}')::jsonb,
    NULL, 'active', '{}', 'q' || :n1, NULL, '{}');
SELECT outcome, reason, event_id FROM registrar_put_event('benchpw.localhost',
    'u' || :k2 || '@localhost', 'user' || :k2,
    ('{"email": "u' || :k2 || '+' || :n2 || '@example.org"}')::jsonb,
    NULL, 'active', '{}', 'q' || :n2, NULL, '{}');
SELECT outcome, reason, event_id FROM registrar_put_event('benchpw.localhost',
    'u' || :k3 || '@localhost', 'user' || :k3,
    ('{"email": "u' || :k3 || '+' || :n3 || '@example.org"}')::jsonb,
    NULL, 'active', '{}', 'q' || :n3, NULL, '{}');
SELECT outcome, reason, event_id FROM registrar_put_event('benchpw.localhost',
    'u' || :k4 || '@localhost', 'user' || :k4,
    ('{"email": "u' || :k4 || '+' || :n4 || '@example.org"}')::jsonb,
    NULL, 'active', '{}', 'q' || :n4, NULL, '{}');
SELECT outcome, reason, event_id FROM registrar_put_event('benchpw.localhost',
    'u' || :k5 || '@localhost', 'user' || :k5,
    ('{"email": "u' || :k5 || '+' || :n5 || '@example.org"}')::jsonb,
    NULL, 'active', '{}', 'q' || :n5, NULL, '{}');
SELECT outcome, reason, event_id FROM registrar_put_event('benchpw.localhost',
    'u' || :k6 || '@localhost', 'user' || :k6,
    ('{"email": "u' || :k6 || '+' || :n6 || '@example.org"}')::jsonb,
    NULL, 'active', '{}', 'q' || :n6, NULL, '{}');
SELECT outcome, reason, event_id FROM registrar_put_event('benchpw.localhost',
    'u' || :k7 || '@localhost', 'user' || :k7,
    ('{"email": "u' || :k7 || '+' || :n7 || '@example.org"}')::jsonb,
    NULL, 'active', '{}', 'q' || :n7, NULL, '{}');
SELECT outcome, reason, event_id FROM registrar_put_event('benchpw.localhost',
    'u' || :k8 || '@localhost', 'user' || :k8,
    ('{"email": "u' || :k8 || '+' || :n8 || '@example.org"}')::jsonb,
    NULL, 'active', '{}', 'q' || :n8, NULL, '{}');
SELECT outcome, reason, event_id FROM registrar_put_event('benchpw.localhost',
    'u' || :k9 || '@localhost', 'user' || :k9,
    ('{"email": "u' || :k9 || '+' || :n9 || '@example.org"}')::jsonb,
    NULL, 'active', '{}', 'q' || :n9, NULL, '{}');
COMMIT;
\endpipeline
