-- tests/bench/pgbench/floor_update.sql: the floor of an update, one per
-- transaction: the row of one of the sessions' JIDs upserted with a new
-- value and one event row, in one pipelined transaction (BEGIN, the two
-- statements, COMMIT, as registrar sends a batch).  Each client updates
-- rows of its own (client_id + 1, + clients, ...: no lock waits nor
-- deadlocks between the clients).  pgbench -D rows=N -D clients=C.
\set i 1 + :client_id + :clients * random(0, :rows / :clients - 1)
\set n random(1, 1000000000)
\startpipeline
BEGIN;
INSERT INTO bench_floor.registrations AS r (service, jid, fields, state)
VALUES ('floor.localhost', 'bench' || :i || '@localhost',
        ('{"first": "Bench", "last": "User ' || :n
         || '", "email": "bench' || :i || '@example.org"}')::jsonb,
        'active')
    ON CONFLICT (service, jid) DO UPDATE
   SET fields = EXCLUDED.fields, updated_at = now();
INSERT INTO bench_floor.events (service, jid, event, iq_id, detail)
VALUES ('floor.localhost', 'bench' || :i || '@localhost', 'updated',
        'q' || :n, '{"changed": ["last"]}');
COMMIT;
\endpipeline
