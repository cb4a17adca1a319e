-- tests/bench/pgbench/one.sql: one registration-like upsert per
-- transaction, into registrar's own table (its triggers, events, NOTIFY
-- and advisory lock included), service pgbench.localhost, a fresh JID
-- each time (a new row, as a new registration is).  Run by
-- tests/bench/run.sh against the cluster registrar uses.
\set n random(1, 2000000000)
INSERT INTO registrations AS r (service, jid, fields, state)
VALUES ('pgbench.localhost', 'pgb' || :client_id || '-' || :n || '@localhost',
        '{"first": "Bench", "last": "User", "email": "bench@example.org"}',
        'active')
ON CONFLICT (service, jid) DO UPDATE
   SET fields = EXCLUDED.fields, updated_at = now();
