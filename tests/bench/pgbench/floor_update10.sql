-- tests/bench/pgbench/floor_update10.sql: ten updates per transaction:
-- ten copies of floor_update.sql's two statements (the row upserted, its
-- event row), each a JID drawn among the client's own, in one pipelined
-- transaction.  pgbench -D rows=N -D clients=C.  Written from
-- floor_update.sql; keep the two alike.
\set i0 1 + :client_id + :clients * random(0, :rows / :clients - 1)
\set n0 random(1, 1000000000)
\set i1 1 + :client_id + :clients * random(0, :rows / :clients - 1)
\set n1 random(1, 1000000000)
\set i2 1 + :client_id + :clients * random(0, :rows / :clients - 1)
\set n2 random(1, 1000000000)
\set i3 1 + :client_id + :clients * random(0, :rows / :clients - 1)
\set n3 random(1, 1000000000)
\set i4 1 + :client_id + :clients * random(0, :rows / :clients - 1)
\set n4 random(1, 1000000000)
\set i5 1 + :client_id + :clients * random(0, :rows / :clients - 1)
\set n5 random(1, 1000000000)
\set i6 1 + :client_id + :clients * random(0, :rows / :clients - 1)
\set n6 random(1, 1000000000)
\set i7 1 + :client_id + :clients * random(0, :rows / :clients - 1)
\set n7 random(1, 1000000000)
\set i8 1 + :client_id + :clients * random(0, :rows / :clients - 1)
\set n8 random(1, 1000000000)
\set i9 1 + :client_id + :clients * random(0, :rows / :clients - 1)
\set n9 random(1, 1000000000)
\startpipeline
BEGIN;
INSERT INTO bench_floor.registrations AS r (service, jid, fields, state)
VALUES ('floor.localhost', 'bench' || :i0 || '@localhost',
        ('{"first": "Bench", "last": "User ' || :n0
         || '", "email": "bench' || :i0 || '@example.org"}')::jsonb,
        'active')
    ON CONFLICT (service, jid) DO UPDATE
   SET fields = EXCLUDED.fields, updated_at = now();
INSERT INTO bench_floor.events (service, jid, event, iq_id, detail)
VALUES ('floor.localhost', 'bench' || :i0 || '@localhost', 'updated',
        'q' || :n0, '{"changed": ["last"]}');
INSERT INTO bench_floor.registrations AS r (service, jid, fields, state)
VALUES ('floor.localhost', 'bench' || :i1 || '@localhost',
        ('{"first": "Bench", "last": "User ' || :n1
         || '", "email": "bench' || :i1 || '@example.org"}')::jsonb,
        'active')
    ON CONFLICT (service, jid) DO UPDATE
   SET fields = EXCLUDED.fields, updated_at = now();
INSERT INTO bench_floor.events (service, jid, event, iq_id, detail)
VALUES ('floor.localhost', 'bench' || :i1 || '@localhost', 'updated',
        'q' || :n1, '{"changed": ["last"]}');
INSERT INTO bench_floor.registrations AS r (service, jid, fields, state)
VALUES ('floor.localhost', 'bench' || :i2 || '@localhost',
        ('{"first": "Bench", "last": "User ' || :n2
         || '", "email": "bench' || :i2 || '@example.org"}')::jsonb,
        'active')
    ON CONFLICT (service, jid) DO UPDATE
   SET fields = EXCLUDED.fields, updated_at = now();
INSERT INTO bench_floor.events (service, jid, event, iq_id, detail)
VALUES ('floor.localhost', 'bench' || :i2 || '@localhost', 'updated',
        'q' || :n2, '{"changed": ["last"]}');
INSERT INTO bench_floor.registrations AS r (service, jid, fields, state)
VALUES ('floor.localhost', 'bench' || :i3 || '@localhost',
        ('{"first": "Bench", "last": "User ' || :n3
         || '", "email": "bench' || :i3 || '@example.org"}')::jsonb,
        'active')
    ON CONFLICT (service, jid) DO UPDATE
   SET fields = EXCLUDED.fields, updated_at = now();
INSERT INTO bench_floor.events (service, jid, event, iq_id, detail)
VALUES ('floor.localhost', 'bench' || :i3 || '@localhost', 'updated',
        'q' || :n3, '{"changed": ["last"]}');
INSERT INTO bench_floor.registrations AS r (service, jid, fields, state)
VALUES ('floor.localhost', 'bench' || :i4 || '@localhost',
        ('{"first": "Bench", "last": "User ' || :n4
         || '", "email": "bench' || :i4 || '@example.org"}')::jsonb,
        'active')
    ON CONFLICT (service, jid) DO UPDATE
   SET fields = EXCLUDED.fields, updated_at = now();
INSERT INTO bench_floor.events (service, jid, event, iq_id, detail)
VALUES ('floor.localhost', 'bench' || :i4 || '@localhost', 'updated',
        'q' || :n4, '{"changed": ["last"]}');
INSERT INTO bench_floor.registrations AS r (service, jid, fields, state)
VALUES ('floor.localhost', 'bench' || :i5 || '@localhost',
        ('{"first": "Bench", "last": "User ' || :n5
         || '", "email": "bench' || :i5 || '@example.org"}')::jsonb,
        'active')
    ON CONFLICT (service, jid) DO UPDATE
   SET fields = EXCLUDED.fields, updated_at = now();
INSERT INTO bench_floor.events (service, jid, event, iq_id, detail)
VALUES ('floor.localhost', 'bench' || :i5 || '@localhost', 'updated',
        'q' || :n5, '{"changed": ["last"]}');
INSERT INTO bench_floor.registrations AS r (service, jid, fields, state)
VALUES ('floor.localhost', 'bench' || :i6 || '@localhost',
        ('{"first": "Bench", "last": "User ' || :n6
         || '", "email": "bench' || :i6 || '@example.org"}')::jsonb,
        'active')
    ON CONFLICT (service, jid) DO UPDATE
   SET fields = EXCLUDED.fields, updated_at = now();
INSERT INTO bench_floor.events (service, jid, event, iq_id, detail)
VALUES ('floor.localhost', 'bench' || :i6 || '@localhost', 'updated',
        'q' || :n6, '{"changed": ["last"]}');
INSERT INTO bench_floor.registrations AS r (service, jid, fields, state)
VALUES ('floor.localhost', 'bench' || :i7 || '@localhost',
        ('{"first": "Bench", "last": "User ' || :n7
         || '", "email": "bench' || :i7 || '@example.org"}')::jsonb,
        'active')
    ON CONFLICT (service, jid) DO UPDATE
   SET fields = EXCLUDED.fields, updated_at = now();
INSERT INTO bench_floor.events (service, jid, event, iq_id, detail)
VALUES ('floor.localhost', 'bench' || :i7 || '@localhost', 'updated',
        'q' || :n7, '{"changed": ["last"]}');
INSERT INTO bench_floor.registrations AS r (service, jid, fields, state)
VALUES ('floor.localhost', 'bench' || :i8 || '@localhost',
        ('{"first": "Bench", "last": "User ' || :n8
         || '", "email": "bench' || :i8 || '@example.org"}')::jsonb,
        'active')
    ON CONFLICT (service, jid) DO UPDATE
   SET fields = EXCLUDED.fields, updated_at = now();
INSERT INTO bench_floor.events (service, jid, event, iq_id, detail)
VALUES ('floor.localhost', 'bench' || :i8 || '@localhost', 'updated',
        'q' || :n8, '{"changed": ["last"]}');
INSERT INTO bench_floor.registrations AS r (service, jid, fields, state)
VALUES ('floor.localhost', 'bench' || :i9 || '@localhost',
        ('{"first": "Bench", "last": "User ' || :n9
         || '", "email": "bench' || :i9 || '@example.org"}')::jsonb,
        'active')
    ON CONFLICT (service, jid) DO UPDATE
   SET fields = EXCLUDED.fields, updated_at = now();
INSERT INTO bench_floor.events (service, jid, event, iq_id, detail)
VALUES ('floor.localhost', 'bench' || :i9 || '@localhost', 'updated',
        'q' || :n9, '{"changed": ["last"]}');
COMMIT;
\endpipeline
