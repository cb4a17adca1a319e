-- tests/bench/pgbench/setup.sql: what the write-path scripts need in a
-- migrated registrar database (run once, as a superuser, by cpu.sh
-- setup):
--   bench.localhost     10000 registrations u1..u10000@localhost (first,
--                       last, email; no username, as tests/fixtures/
--                       bench.conf): the rows put_upd*.sql update
--   benchpw.localhost   10000 with a username and a bcrypt-shaped hash
--                       (bench_pw.conf): put_updu*.sql updates them
--   rm.localhost        rows rm<n>@localhost that remove*.sql removes,
--                       registered by cpu.sh (refill.sql) before each
--                       run, in a block of numbers of its own
--                       (bench_write.rm_block)
-- The floors are tests/bench/bench.py's (floor_setup.sql, floor_*.sql):
-- cpu.sh setup runs floor_setup.sql too, with rows = 10000.
CREATE SCHEMA IF NOT EXISTS bench_write;
CREATE SEQUENCE IF NOT EXISTS bench_write.rm_block;

SELECT count(*) FILTER (WHERE outcome IN ('created', 'updated'))
  FROM generate_series(1, 10000) i,
       registrar_put_checked('bench.localhost', 'u' || i || '@localhost',
           NULL, jsonb_build_object('first', 'Bench', 'last', 'User',
                                    'email', 'u' || i || '@example.org'),
           NULL, 'active', NULL, 'setup', NULL, '{}');
SELECT count(*) FILTER (WHERE outcome IN ('created', 'updated'))
  FROM generate_series(1, 10000) i,
       registrar_put_checked('benchpw.localhost', 'u' || i || '@localhost',
           'user' || i, jsonb_build_object('email',
                                           'u' || i || '@example.org'),
           '$2a$10$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234',
           'active', NULL, 'setup', NULL, '{}');
