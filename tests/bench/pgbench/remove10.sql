-- tests/bench/pgbench/remove10.sql: a removal per op through
-- registrar_remove_event, of rm.localhost's rows rm<base + k>, k counting
-- from 1 (pgbench -D base=B -D k=0; cpu.sh registers them first); 10
-- op(s) per transaction, sent as the daemon sends a batch (BEGIN, the
-- statements, COMMIT in one pipeline).  Written by gen.py; measured by
-- cpu.sh.
\set k :k + 1
\set key0 :base + :k
\set k :k + 1
\set key1 :base + :k
\set k :k + 1
\set key2 :base + :k
\set k :k + 1
\set key3 :base + :k
\set k :k + 1
\set key4 :base + :k
\set k :k + 1
\set key5 :base + :k
\set k :k + 1
\set key6 :base + :k
\set k :k + 1
\set key7 :base + :k
\set k :k + 1
\set key8 :base + :k
\set k :k + 1
\set key9 :base + :k
\startpipeline
BEGIN;
SELECT done, event_id FROM registrar_remove_event('rm.localhost',
    'rm' || :key0 || '@localhost', 'q' || :key0, NULL);
SELECT done, event_id FROM registrar_remove_event('rm.localhost',
    'rm' || :key1 || '@localhost', 'q' || :key1, NULL);
SELECT done, event_id FROM registrar_remove_event('rm.localhost',
    'rm' || :key2 || '@localhost', 'q' || :key2, NULL);
SELECT done, event_id FROM registrar_remove_event('rm.localhost',
    'rm' || :key3 || '@localhost', 'q' || :key3, NULL);
SELECT done, event_id FROM registrar_remove_event('rm.localhost',
    'rm' || :key4 || '@localhost', 'q' || :key4, NULL);
SELECT done, event_id FROM registrar_remove_event('rm.localhost',
    'rm' || :key5 || '@localhost', 'q' || :key5, NULL);
SELECT done, event_id FROM registrar_remove_event('rm.localhost',
    'rm' || :key6 || '@localhost', 'q' || :key6, NULL);
SELECT done, event_id FROM registrar_remove_event('rm.localhost',
    'rm' || :key7 || '@localhost', 'q' || :key7, NULL);
SELECT done, event_id FROM registrar_remove_event('rm.localhost',
    'rm' || :key8 || '@localhost', 'q' || :key8, NULL);
SELECT done, event_id FROM registrar_remove_event('rm.localhost',
    'rm' || :key9 || '@localhost', 'q' || :key9, NULL);
COMMIT;
\endpipeline
