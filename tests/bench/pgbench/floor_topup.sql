-- tests/bench/pgbench/floor_topup.sql: the rows a floor_remove run
-- removes, rm<from>..rm<to>@localhost of floor-rm.localhost (psql
-- variables from, to), put in by tests/bench/bench.py before the run and
-- outside its measure.
INSERT INTO bench_floor.registrations (service, jid, fields, state)
SELECT 'floor-rm.localhost', 'rm' || g || '@localhost',
       jsonb_build_object('first', 'Bench', 'last', 'User',
                          'email', 'rm' || g || '@example.org'),
       'active'
  FROM generate_series(:from, :to) g
    ON CONFLICT DO NOTHING;
-- the statistics that make the removal's generic plan (pgbench -M
-- prepared) use the primary key, and a checkpoint, so that the run does
-- not pay for this one's writes
ANALYZE bench_floor.registrations;
CHECKPOINT;
