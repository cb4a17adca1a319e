-- tests/bench/pgbench/floor_register10.sql: ten registrations per
-- transaction: ten copies of floor_register.sql's two statements (a fresh
-- row, its event row) in one pipelined transaction.  Written from
-- floor_register.sql; keep the two alike.
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
INSERT INTO bench_floor.registrations AS r (service, jid, fields, state)
VALUES ('floor-new.localhost', 'new' || :client_id || '-' || :n0 || '@localhost',
        '{"first": "Bench", "last": "User", "email": "bench@example.org"}',
        'active')
    ON CONFLICT (service, jid) DO UPDATE
   SET fields = EXCLUDED.fields, updated_at = now();
INSERT INTO bench_floor.events (service, jid, event, iq_id, detail)
VALUES ('floor-new.localhost', 'new' || :client_id || '-' || :n0 || '@localhost',
        'registered', 'q' || :n0, '{}');
INSERT INTO bench_floor.registrations AS r (service, jid, fields, state)
VALUES ('floor-new.localhost', 'new' || :client_id || '-' || :n1 || '@localhost',
        '{"first": "Bench", "last": "User", "email": "bench@example.org"}',
        'active')
    ON CONFLICT (service, jid) DO UPDATE
   SET fields = EXCLUDED.fields, updated_at = now();
INSERT INTO bench_floor.events (service, jid, event, iq_id, detail)
VALUES ('floor-new.localhost', 'new' || :client_id || '-' || :n1 || '@localhost',
        'registered', 'q' || :n1, '{}');
INSERT INTO bench_floor.registrations AS r (service, jid, fields, state)
VALUES ('floor-new.localhost', 'new' || :client_id || '-' || :n2 || '@localhost',
        '{"first": "Bench", "last": "User", "email": "bench@example.org"}',
        'active')
    ON CONFLICT (service, jid) DO UPDATE
   SET fields = EXCLUDED.fields, updated_at = now();
INSERT INTO bench_floor.events (service, jid, event, iq_id, detail)
VALUES ('floor-new.localhost', 'new' || :client_id || '-' || :n2 || '@localhost',
        'registered', 'q' || :n2, '{}');
INSERT INTO bench_floor.registrations AS r (service, jid, fields, state)
VALUES ('floor-new.localhost', 'new' || :client_id || '-' || :n3 || '@localhost',
        '{"first": "Bench", "last": "User", "email": "bench@example.org"}',
        'active')
    ON CONFLICT (service, jid) DO UPDATE
   SET fields = EXCLUDED.fields, updated_at = now();
INSERT INTO bench_floor.events (service, jid, event, iq_id, detail)
VALUES ('floor-new.localhost', 'new' || :client_id || '-' || :n3 || '@localhost',
        'registered', 'q' || :n3, '{}');
INSERT INTO bench_floor.registrations AS r (service, jid, fields, state)
VALUES ('floor-new.localhost', 'new' || :client_id || '-' || :n4 || '@localhost',
        '{"first": "Bench", "last": "User", "email": "bench@example.org"}',
        'active')
    ON CONFLICT (service, jid) DO UPDATE
   SET fields = EXCLUDED.fields, updated_at = now();
INSERT INTO bench_floor.events (service, jid, event, iq_id, detail)
VALUES ('floor-new.localhost', 'new' || :client_id || '-' || :n4 || '@localhost',
        'registered', 'q' || :n4, '{}');
INSERT INTO bench_floor.registrations AS r (service, jid, fields, state)
VALUES ('floor-new.localhost', 'new' || :client_id || '-' || :n5 || '@localhost',
        '{"first": "Bench", "last": "User", "email": "bench@example.org"}',
        'active')
    ON CONFLICT (service, jid) DO UPDATE
   SET fields = EXCLUDED.fields, updated_at = now();
INSERT INTO bench_floor.events (service, jid, event, iq_id, detail)
VALUES ('floor-new.localhost', 'new' || :client_id || '-' || :n5 || '@localhost',
        'registered', 'q' || :n5, '{}');
INSERT INTO bench_floor.registrations AS r (service, jid, fields, state)
VALUES ('floor-new.localhost', 'new' || :client_id || '-' || :n6 || '@localhost',
        '{"first": "Bench", "last": "User", "email": "bench@example.org"}',
        'active')
    ON CONFLICT (service, jid) DO UPDATE
   SET fields = EXCLUDED.fields, updated_at = now();
INSERT INTO bench_floor.events (service, jid, event, iq_id, detail)
VALUES ('floor-new.localhost', 'new' || :client_id || '-' || :n6 || '@localhost',
        'registered', 'q' || :n6, '{}');
INSERT INTO bench_floor.registrations AS r (service, jid, fields, state)
VALUES ('floor-new.localhost', 'new' || :client_id || '-' || :n7 || '@localhost',
        '{"first": "Bench", "last": "User", "email": "bench@example.org"}',
        'active')
    ON CONFLICT (service, jid) DO UPDATE
   SET fields = EXCLUDED.fields, updated_at = now();
INSERT INTO bench_floor.events (service, jid, event, iq_id, detail)
VALUES ('floor-new.localhost', 'new' || :client_id || '-' || :n7 || '@localhost',
        'registered', 'q' || :n7, '{}');
INSERT INTO bench_floor.registrations AS r (service, jid, fields, state)
VALUES ('floor-new.localhost', 'new' || :client_id || '-' || :n8 || '@localhost',
        '{"first": "Bench", "last": "User", "email": "bench@example.org"}',
        'active')
    ON CONFLICT (service, jid) DO UPDATE
   SET fields = EXCLUDED.fields, updated_at = now();
INSERT INTO bench_floor.events (service, jid, event, iq_id, detail)
VALUES ('floor-new.localhost', 'new' || :client_id || '-' || :n8 || '@localhost',
        'registered', 'q' || :n8, '{}');
INSERT INTO bench_floor.registrations AS r (service, jid, fields, state)
VALUES ('floor-new.localhost', 'new' || :client_id || '-' || :n9 || '@localhost',
        '{"first": "Bench", "last": "User", "email": "bench@example.org"}',
        'active')
    ON CONFLICT (service, jid) DO UPDATE
   SET fields = EXCLUDED.fields, updated_at = now();
INSERT INTO bench_floor.events (service, jid, event, iq_id, detail)
VALUES ('floor-new.localhost', 'new' || :client_id || '-' || :n9 || '@localhost',
        'registered', 'q' || :n9, '{}');
COMMIT;
\endpipeline
