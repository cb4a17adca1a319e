-- tests/bench/pgbench/floor_register.sql: the floor of a registration,
-- one per transaction: a fresh row (a new JID each time, as direct mode's
-- registrations are) upserted and one event row, in one pipelined
-- transaction.
\set n random(1, 2000000000)
\startpipeline
BEGIN;
INSERT INTO bench_floor.registrations AS r (service, jid, fields, state)
VALUES ('floor-new.localhost', 'new' || :client_id || '-' || :n || '@localhost',
        '{"first": "Bench", "last": "User", "email": "bench@example.org"}',
        'active')
    ON CONFLICT (service, jid) DO UPDATE
   SET fields = EXCLUDED.fields, updated_at = now();
INSERT INTO bench_floor.events (service, jid, event, iq_id, detail)
VALUES ('floor-new.localhost', 'new' || :client_id || '-' || :n || '@localhost',
        'registered', 'q' || :n, '{}');
COMMIT;
\endpipeline
