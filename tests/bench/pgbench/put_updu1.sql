-- tests/bench/pgbench/put_updu1.sql: an update per op of a registration
-- of benchpw.localhost (its username given again, its hash kept: NULL)
-- through registrar_put_event: "email" changes; 1 op(s) per transaction,
-- sent as the daemon sends a batch (BEGIN, the statements, COMMIT in one
-- pipeline).  Written by gen.py; measured by cpu.sh.
\set k0 random(1, 10000)
\set n0 random(1, 2000000000)
\startpipeline
BEGIN;
SELECT outcome, reason, event_id FROM registrar_put_event('benchpw.localhost',
    'u' || :k0 || '@localhost', 'user' || :k0,
    ('{"email": "u' || :k0 || '+' || :n0 || '@example.org"}')::jsonb,
    NULL, 'active', '{}', 'q' || :n0, NULL, '{}');
COMMIT;
\endpipeline
