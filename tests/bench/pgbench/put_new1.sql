-- tests/bench/pgbench/put_new1.sql: a registration per op through
-- registrar_put_event, as the daemon sends it (first/last/email, no
-- username, no secret: tests/fixtures/bench.conf), a fresh JID each; 1
-- op(s) per transaction, sent as the daemon sends a batch (BEGIN, the
-- statements, COMMIT in one pipeline).  Written by gen.py; measured by
-- cpu.sh.
\set n0 random(1, 2000000000)
\startpipeline
BEGIN;
SELECT outcome, reason, event_id FROM registrar_put_event('new.localhost',
    'n' || :client_id || '-' || :n0 || '@localhost', NULL,
    '{"first": "Bench", "last": "User", "email": "bench@example.org"}',
    NULL, 'active', '{}', 'q' || :n0, NULL, '{}');
COMMIT;
\endpipeline
