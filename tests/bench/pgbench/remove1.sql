-- tests/bench/pgbench/remove1.sql: a removal per op through
-- registrar_remove_event, of rm.localhost's rows rm<base + k>, k counting
-- from 1 (pgbench -D base=B -D k=0; cpu.sh registers them first); 1 op(s)
-- per transaction, sent as the daemon sends a batch (BEGIN, the
-- statements, COMMIT in one pipeline).  Written by gen.py; measured by
-- cpu.sh.
\set k :k + 1
\set key0 :base + :k
\startpipeline
BEGIN;
SELECT done, event_id FROM registrar_remove_event('rm.localhost',
    'rm' || :key0 || '@localhost', 'q' || :key0, NULL);
COMMIT;
\endpipeline
