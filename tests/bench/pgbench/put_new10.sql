-- tests/bench/pgbench/put_new10.sql: a registration per op through
-- registrar_put_event, as the daemon sends it (first/last/email, no
-- username, no secret: tests/fixtures/bench.conf), a fresh JID each; 10
-- op(s) per transaction, sent as the daemon sends a batch (BEGIN, the
-- statements, COMMIT in one pipeline).  Written by gen.py; measured by
-- cpu.sh.
\set n0 random(1, 2000000000)
\set n1 random(1, 2000000000)
\set n2 random(1, 2000000000)
\set n3 random(1, 2000000000)
\set n4 random(1, 2000000000)
\set n5 random(1, 2000000000)
\set n6 random(1, 2000000000)
\set n7 random(1, 2000000000)
\set n8 random(1, 2000000000)
\set n9 random(1, 2000000000)
\startpipeline
BEGIN;
SELECT outcome, reason, event_id FROM registrar_put_event('new.localhost',
    'n' || :client_id || '-' || :n0 || '@localhost', NULL,
    '{"first": "Bench", "last": "User", "email": "bench@example.org"}',
    NULL, 'active', '{}', 'q' || :n0, NULL, '{}');
SELECT outcome, reason, event_id FROM registrar_put_event('new.localhost',
    'n' || :client_id || '-' || :n1 || '@localhost', NULL,
    '{"first": "Bench", "last": "User", "email": "bench@example.org"}',
    NULL, 'active', '{}', 'q' || :n1, NULL, '{}');
SELECT outcome, reason, event_id FROM registrar_put_event('new.localhost',
    'n' || :client_id || '-' || :n2 || '@localhost', NULL,
    '{"first": "Bench", "last": "User", "email": "bench@example.org"}',
    NULL, 'active', '{}', 'q' || :n2, NULL, '{}');
SELECT outcome, reason, event_id FROM registrar_put_event('new.localhost',
    'n' || :client_id || '-' || :n3 || '@localhost', NULL,
    '{"first": "Bench", "last": "User", "email": "bench@example.org"}',
    NULL, 'active', '{}', 'q' || :n3, NULL, '{}');
SELECT outcome, reason, event_id FROM registrar_put_event('new.localhost',
    'n' || :client_id || '-' || :n4 || '@localhost', NULL,
    '{"first": "Bench", "last": "User", "email": "bench@example.org"}',
    NULL, 'active', '{}', 'q' || :n4, NULL, '{}');
SELECT outcome, reason, event_id FROM registrar_put_event('new.localhost',
    'n' || :client_id || '-' || :n5 || '@localhost', NULL,
    '{"first": "Bench", "last": "User", "email": "bench@example.org"}',
    NULL, 'active', '{}', 'q' || :n5, NULL, '{}');
SELECT outcome, reason, event_id FROM registrar_put_event('new.localhost',
    'n' || :client_id || '-' || :n6 || '@localhost', NULL,
    '{"first": "Bench", "last": "User", "email": "bench@example.org"}',
    NULL, 'active', '{}', 'q' || :n6, NULL, '{}');
SELECT outcome, reason, event_id FROM registrar_put_event('new.localhost',
    'n' || :client_id || '-' || :n7 || '@localhost', NULL,
    '{"first": "Bench", "last": "User", "email": "bench@example.org"}',
    NULL, 'active', '{}', 'q' || :n7, NULL, '{}');
SELECT outcome, reason, event_id FROM registrar_put_event('new.localhost',
    'n' || :client_id || '-' || :n8 || '@localhost', NULL,
    '{"first": "Bench", "last": "User", "email": "bench@example.org"}',
    NULL, 'active', '{}', 'q' || :n8, NULL, '{}');
SELECT outcome, reason, event_id FROM registrar_put_event('new.localhost',
    'n' || :client_id || '-' || :n9 || '@localhost', NULL,
    '{"first": "Bench", "last": "User", "email": "bench@example.org"}',
    NULL, 'active', '{}', 'q' || :n9, NULL, '{}');
COMMIT;
\endpipeline
