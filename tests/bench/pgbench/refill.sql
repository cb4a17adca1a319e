-- tests/bench/pgbench/refill.sql: the rows rm<lo>..rm<hi>@localhost of
-- rm.localhost that remove*.sql removes next, registered through
-- registrar's own function (psql variables lo, hi).  cpu.sh runs it
-- before each removal run, outside the measure.
SELECT count(*)
  FROM generate_series(:lo::bigint, :hi::bigint) j,
       registrar_put_checked('rm.localhost', 'rm' || j || '@localhost', NULL,
           '{"first": "Bench", "last": "User", "email": "rm@example.org"}',
           NULL, 'active', '{}', 'refill', NULL, '{}');
CHECKPOINT;
