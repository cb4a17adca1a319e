#!/bin/bash
# Each external library behind its files, checked on what the preprocessor
# reads (gcc -M: every header a file reaches through its includes), for
# every source and header of component/:
#  - libstrophe (strophe.h) only in the XMPP modules: the connection and
#    the wiring (component, main) and the protocol modules that build and
#    read stanzas (form, iq, xml, router, reg*, adhoc*, messages).  The store, conf,
#    the worker, secret, limiter, text, log, policy, jid, notify, the
#    counters and the metrics (stats, monitor, metrics) and the plain
#    values know nothing of XMPP.
#  - libpq (libpq-fe.h) only in the store's files that talk to PostgreSQL:
#    store.c, store_sql.c, store_conn.c, store_migrate.c, store_listen.c
#    and their store_internal.h; not store.h, not store_values.c (the unit
#    tests' fake store links it), not store_cache.c, nothing else.
#  - libconfuse (confuse.h) only in conf.c, ICU (unicode/*.h) only in
#    text.c, libidn (stringprep.h) only in jid.c, libmicrohttpd
#    (microhttpd.h) only in metrics.c, PCRE2 (pcre2.h) only in pattern.c:
#    each library behind one file.
# Usage: headers_free_of_xmpp.sh CC SOURCE_DIR BINARY_DIR [INCLUDE_DIR...]
cc=$1 src=$2 bin=$3
shift 3
flags=(-D_GNU_SOURCE -I"$src/component" -I"$bin")
for d in "$@"; do
    flags+=(-I"$d")
done

xmpp_module() {
    case $1 in
    component | main | form | iq | xml | router | reg | reg_* | adhoc | adhoc_* | \
        messages)
        return 0 ;;
    esac
    return 1
}

libpq_module() {
    case $1 in
    store.c | store_sql.c | store_conn.c | store_migrate.c | store_listen.c | \
        store_internal.h)
        return 0 ;;
    esac
    return 1
}

fail=0 checked=0 xmpp=() pq=()
for f in "$src"/component/*.c "$src"/component/*.h; do
    name=$(basename "$f")
    stem=${name%.*}
    # -MG: a header not found is listed by its name instead of failing
    if ! deps=$("$cc" -M -MG "${flags[@]}" -x c "$f" 2>&1); then
        echo "$name: the preprocessor failed: $deps"
        fail=1
        continue
    fi
    checked=$((checked + 1))
    has_strophe=0 has_pq=0
    grep -q 'strophe\.h' <<<"$deps" && has_strophe=1
    grep -q 'libpq-fe\.h' <<<"$deps" && has_pq=1
    for lib in 'confuse\.h:conf.c' 'unicode/[a-z0-9_]*\.h:text.c' \
        'stringprep\.h:jid.c' 'microhttpd\.h:metrics.c' 'pcre2\.h:pattern.c'; do
        pattern=${lib%:*} owner=${lib##*:}
        if grep -q "$pattern" <<<"$deps" && [ "$name" != "$owner" ]; then
            echo "component/$name reaches ${pattern//\\/}: only $owner may"
            fail=1
        fi
        if [ "$name" = "$owner" ] && ! grep -q "$pattern" <<<"$deps"; then
            echo "component/$name: its library not seen (the check is broken)"
            fail=1
        fi
    done
    [ $has_strophe = 1 ] && xmpp+=("$name")
    [ $has_pq = 1 ] && pq+=("$name")
    if [ $has_strophe = 1 ] && ! xmpp_module "$stem"; then
        echo "component/$name reaches libstrophe's strophe.h; it reads" \
            $(grep -o '[^ ]*/component/[a-z_0-9]*\.h' <<<"$deps" |
                sed 's|.*/||' | sort -u)
        fail=1
    fi
    if [ $has_pq = 1 ] && ! libpq_module "$name"; then
        echo "component/$name reaches libpq-fe.h: only the store's files may"
        fail=1
    fi
    # the test tests itself: the files that use a library must be seen to
    if { [ "$name" = form.c ] && [ $has_strophe = 0 ]; } ||
        { [ "$name" = store.c ] && [ $has_pq = 0 ]; }; then
        echo "component/$name: its library not seen (the check is broken)"
        fail=1
    fi
done
[ $fail = 0 ] || exit 1
echo "$checked files of component/ checked"
echo "libstrophe reached by (XMPP modules only): ${xmpp[*]}"
echo "libpq reached by (the store's files only): ${pq[*]}"
echo "libconfuse only in conf.c, ICU only in text.c, libidn only in jid.c," \
    "libmicrohttpd only in metrics.c"
