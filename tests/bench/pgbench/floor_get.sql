-- tests/bench/pgbench/floor_get.sql: the floor of a registered get, one
-- per transaction: the row of one of the sessions' JIDs read with plain
-- SQL (registrar's registrar_get also spreads the fields into rows and
-- computes a claim's key).  pgbench -D rows=N (the sessions).
\set i random(1, :rows)
SELECT username, password_hash, fields, state, disabled_reason
  FROM bench_floor.registrations
 WHERE service = 'floor.localhost' AND jid = 'bench' || :i || '@localhost';
