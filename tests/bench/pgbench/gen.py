#!/usr/bin/env python3
"""tests/bench/pgbench/gen.py: writes the write-path scripts of this
directory (put_new, put_upd, put_updu and remove, 1 and 10
operations per transaction), each operation the statement registrar's
store sends (component/store_sql.c).  Run it here after changing one; the
scripts it wrote are committed.  cpu.sh measures them (and, with --v11,
against a database of before sql/012: the same operations through the
functions of sql/010), beside the floors of tests/bench/bench.py
(floor_*.sql)."""
import textwrap

WHAT = {
    "put_new": "a registration per op through registrar_put_event, as "
               "the daemon sends it (first/last/email, no username, no "
               "secret: tests/fixtures/bench.conf), a fresh JID each",
    "put_upd": "an update per op of a registration of bench.localhost "
               "through registrar_put_event: \"last\" changes (an "
               "'updated' event), as loadgen's update workload",
    "put_updu": "an update per op of a registration of benchpw.localhost "
                "(its username given again, its hash kept: NULL) through "
                "registrar_put_event: \"email\" changes",
    "remove": "a removal per op through registrar_remove_event, of "
              "rm.localhost's rows rm<base + k>, k counting from 1 (pgbench "
              "-D base=B -D k=0; cpu.sh registers them first)",
}


def op(kind, i, n):
    rnd = "\\set k%d random(1, 10000)\n\\set n%d random(1, 2000000000)\n" % (
        i, i)
    if kind == "put_new":
        return ("\\set n%d random(1, 2000000000)\n" % i,
                "SELECT outcome, reason, event_id FROM registrar_put_event("
                "'new.localhost',\n"
                "    'n' || :client_id || '-' || :n%d || '@localhost', NULL,\n"
                "    '{\"first\": \"Bench\", \"last\": \"User\", \"email\": "
                "\"bench@example.org\"}',\n"
                "    NULL, 'active', '{}', 'q' || :n%d, NULL, '{}');\n"
                % (i, i))
    if kind == "put_upd":
        return (rnd,
                "SELECT outcome, reason, event_id FROM registrar_put_event("
                "'bench.localhost',\n"
                "    'u' || :k%d || '@localhost', NULL,\n"
                "    ('{\"first\": \"Bench\", \"last\": \"User ' || :n%d || "
                "'\", \"email\": \"u' || :k%d || '@example.org\"}')::jsonb,\n"
                "    NULL, 'active', '{}', 'q' || :n%d, NULL, '{}');\n"
                % (i, i, i, i))
    if kind == "put_updu":
        return (rnd,
                "SELECT outcome, reason, event_id FROM registrar_put_event("
                "'benchpw.localhost',\n"
                "    'u' || :k%d || '@localhost', 'user' || :k%d,\n"
                "    ('{\"email\": \"u' || :k%d || '+' || :n%d || "
                "'@example.org\"}')::jsonb,\n"
                "    NULL, 'active', '{}', 'q' || :n%d, NULL, '{}');\n"
                % (i, i, i, i, i))
    if kind == "remove":
        return ("\\set k :k + 1\n\\set key%d :base + :k\n" % i,
                "SELECT done, event_id FROM registrar_remove_event("
                "'rm.localhost',\n"
                "    'rm' || :key%d || '@localhost', 'q' || :key%d, NULL);\n"
                % (i, i))
    raise ValueError(kind)

for kind, what in WHAT.items():
    for n in (1, 10):
        name = "%s%d.sql" % (kind, n)
        head = textwrap.wrap(
            "tests/bench/pgbench/%s: %s; %d op(s) per transaction, sent as "
            "the daemon sends a batch (BEGIN, the statements, COMMIT in one "
            "pipeline).  Written by gen.py; measured by cpu.sh." % (
                name, what, n), 74, initial_indent="-- ",
            subsequent_indent="-- ")
        sets, stmts = [], []
        for i in range(n):
            s, q = op(kind, i, n)
            sets.append(s)
            stmts.append(q)
        with open(name, "w") as f:
            f.write("\n".join(head) + "\n" + "".join(sets)
                    + "\\startpipeline\nBEGIN;\n" + "".join(stmts)
                    + "COMMIT;\n\\endpipeline\n")
