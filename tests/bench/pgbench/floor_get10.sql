-- tests/bench/pgbench/floor_get10.sql: ten registered gets per
-- transaction (as a batch of registrar's holds several): ten copies of
-- floor_get.sql's statement, each a JID drawn again, in one pipelined
-- transaction (BEGIN, ten SELECTs, COMMIT).  pgbench -D rows=N.
-- Written from floor_get.sql; keep the two alike.
\set i0 random(1, :rows)
\set i1 random(1, :rows)
\set i2 random(1, :rows)
\set i3 random(1, :rows)
\set i4 random(1, :rows)
\set i5 random(1, :rows)
\set i6 random(1, :rows)
\set i7 random(1, :rows)
\set i8 random(1, :rows)
\set i9 random(1, :rows)
\startpipeline
BEGIN;
SELECT username, password_hash, fields, state, disabled_reason
  FROM bench_floor.registrations
 WHERE service = 'floor.localhost' AND jid = 'bench' || :i0 || '@localhost';
SELECT username, password_hash, fields, state, disabled_reason
  FROM bench_floor.registrations
 WHERE service = 'floor.localhost' AND jid = 'bench' || :i1 || '@localhost';
SELECT username, password_hash, fields, state, disabled_reason
  FROM bench_floor.registrations
 WHERE service = 'floor.localhost' AND jid = 'bench' || :i2 || '@localhost';
SELECT username, password_hash, fields, state, disabled_reason
  FROM bench_floor.registrations
 WHERE service = 'floor.localhost' AND jid = 'bench' || :i3 || '@localhost';
SELECT username, password_hash, fields, state, disabled_reason
  FROM bench_floor.registrations
 WHERE service = 'floor.localhost' AND jid = 'bench' || :i4 || '@localhost';
SELECT username, password_hash, fields, state, disabled_reason
  FROM bench_floor.registrations
 WHERE service = 'floor.localhost' AND jid = 'bench' || :i5 || '@localhost';
SELECT username, password_hash, fields, state, disabled_reason
  FROM bench_floor.registrations
 WHERE service = 'floor.localhost' AND jid = 'bench' || :i6 || '@localhost';
SELECT username, password_hash, fields, state, disabled_reason
  FROM bench_floor.registrations
 WHERE service = 'floor.localhost' AND jid = 'bench' || :i7 || '@localhost';
SELECT username, password_hash, fields, state, disabled_reason
  FROM bench_floor.registrations
 WHERE service = 'floor.localhost' AND jid = 'bench' || :i8 || '@localhost';
SELECT username, password_hash, fields, state, disabled_reason
  FROM bench_floor.registrations
 WHERE service = 'floor.localhost' AND jid = 'bench' || :i9 || '@localhost';
COMMIT;
\endpipeline
