#!/bin/bash
# tests/unit/conf_docs.sh LISTER: conf.c's option table (LISTER prints it:
# conf_options_print) against its documentation, so that neither drifts:
#  - the table itself: one row per section and name, defaults within their
#    range and among their choices, restart-only options in struct conf
#    and not lists;
#  - deploy/registrar.conf.5: every option in a tagged paragraph (.TP)
#    under the heading of its section (or of one enclosing it), its tag
#    reading "NAME (DEFAULT)" or "NAME (DEFAULT; MIN to MAX)" as the table
#    has them, its paragraph naming every choice ("form", "redirect"); the
#    RELOAD section's "SECTION: name, name" lines list exactly the
#    restart-only options;
#  - deploy/registrar.conf: every option inside its section, commented out
#    or not, as "NAME = DEFAULT" (or at least "NAME =" without a default).
set -u -o pipefail
lister=$1
src=$(cd "$(dirname "$0")/../.." && pwd)
man=$src/deploy/registrar.conf.5
example=$src/deploy/registrar.conf
table=$("$lister") || { echo "$lister failed"; exit 1; }
[ -n "$table" ] || { echo "$lister printed no options"; exit 1; }
fail=0

# 1. The table.
awk -F'\t' '
    seen[$1 "." $2]++ { print "table: " $1 "." $2 " has two rows"; bad = 1 }
    $3 == "integer" {
        split($5, r, " to ")
        if ($4 !~ /^-?[0-9]+$/ || $4 + 0 < r[1] + 0 || $4 + 0 > r[2] + 0) {
            print "table: " $1 "." $2 ": default " $4 " not in " $5; bad = 1
        }
    }
    $3 == "choice" && $7 != "-" && index(", " $7 ", ", ", " substr($4, 2, length($4) - 2) ", ") == 0 {
        print "table: " $1 "." $2 ": default " $4 " is not one of " $7; bad = 1
    }
    $6 == "restart" && ($1 ~ /\./ || $3 == "list") {
        print "table: " $1 "." $2 ": a restart-only option must be a " \
              "string or a number of a top-level section"; bad = 1
    }
    END { exit bad }' <<<"$table" || fail=1

# 2. The man page, rendered to plain text: one record per paragraph
# (heading, tag line, text), then each option looked for.
render_man() {
    awk '
    function text(line,    m, rest, n, a, out, i, q) {
        if (line ~ /^\.(B|I|BI|BR|IB|IR|RB|RI) /) {
            m = line; sub(/ .*/, "", m)
            rest = substr(line, length(m) + 2); n = 0
            while (rest != "") {
                sub(/^ +/, "", rest)
                if (rest == "") break
                if (substr(rest, 1, 1) == "\"") {
                    q = index(substr(rest, 2), "\"")
                    if (q == 0) q = length(rest)
                    a[++n] = substr(rest, 2, q - 1); rest = substr(rest, q + 2)
                } else {
                    q = index(rest, " "); if (q == 0) q = length(rest) + 1
                    a[++n] = substr(rest, 1, q - 1); rest = substr(rest, q + 1)
                }
            }
            out = ""
            for (i = 1; i <= n; i++)
                out = out ((m == ".B" || m == ".I") && i > 1 ? " " : "") a[i]
        } else if (line ~ /^\./) {
            out = ""
        } else {
            out = line
        }
        gsub(/\\\(dq/, "\"", out); gsub(/\\-/, "-", out)
        gsub(/\\&/, "", out); gsub(/\\f[BIRP]/, "", out); gsub(/\\e/, "\\", out)
        return out
    }
    function flush() {
        if (tag != "" || body != "") print heading "\t" tag "\t" body
        tag = ""; body = ""
    }
    /^\.S[HS] / { flush(); heading = tolower(text(".B " substr($0, 5)))
                  sub(/ .*/, "", heading); next }
    /^\.TP/ { flush(); want_tag = 1; next }
    /^\.(PP|LP|P)$/ { flush(); next }
    want_tag && /^\.(B|I|BI|BR|IB|IR|RB|RI) / { tag = text($0); want_tag = 0; next }
    { t = text($0); if (t != "") body = body " " t }
    END { flush() }' "$1"
}
paragraphs=$(render_man "$man")
awk -F'\t' -v man="deploy/registrar.conf.5" '
    function word(s, w,    i, rest, before, after) {
        rest = s
        while ((i = index(rest, w)) > 0) {
            before = i > 1 ? substr(rest, i - 1, 1) : " "
            after = substr(rest, i + length(w), 1)
            if (before !~ /[a-z_]/ && after !~ /[a-z_]/) return 1
            rest = substr(rest, i + length(w))
        }
        return 0
    }
    NR == FNR { head[NR] = $1; tag[NR] = $2; body[NR] = $3; n = NR; next }
    {
        path = $1; name = $2; def = $4; range = $5; choices = $7
        m = split(path, secs, ".")
        for (k = 1; k <= m; k++) section[secs[k]] = 1
        want = def == "-" ? "" : name " (" def (range == "-" ? "" : "; " range) ")"
        if ($6 == "restart") restart[path "." name] = 1
        else reload[path "." name] = 1
        found = 0
        for (i = 1; i <= n && !found; i++) {
            under = 0
            for (k in secs) if (head[i] == secs[k]) under = 1
            if (!under || !word(tag[i], name)) continue
            if (want != "" && index(tag[i], want) == 0) continue
            found = i
        }
        if (!found) {
            print man ": " path "." name ": no paragraph tagged " \
                  (want != "" ? "\"" want "\"" : "with its name") \
                  " under " toupper(path)
            bad = 1; next
        }
        if (choices != "-") {
            m = split(choices, c, ", ")
            for (k = 1; k <= m; k++)
                if (index(tag[found] body[found], "\"" c[k] "\"") == 0) {
                    print man ": " path "." name ": its paragraph does not " \
                          "name the choice \"" c[k] "\""
                    bad = 1
                }
        }
    }
    END {
        # RELOAD: lines "SECTION: name, name, ..." list the restart-only ones
        for (i = 1; i <= n; i++) {
            if (head[i] != "reload") continue
            t = tag[i] " " body[i]
            while (match(t, /[a-z_]+: [a-z_]+(, [a-z_]+)*/)) {
                line = substr(t, RSTART, RLENGTH); t = substr(t, RSTART + RLENGTH)
                sec = line; sub(/:.*/, "", sec); sub(/^[^:]*: /, "", line)
                if (!(sec in section)) continue # prose ("only: a reload")
                m = split(line, names, ", ")
                for (k = 1; k <= m; k++) listed[sec "." names[k]] = 1
            }
        }
        for (o in restart) if (!(o in listed)) {
            print man ": RELOAD does not list " o " (restart-only)"; bad = 1
        }
        for (o in listed) if (!(o in restart)) {
            print man ": RELOAD lists " o ", which is " \
                  (o in reload ? "changed by a reload" : "no option"); bad = 1
        }
        exit bad
    }' <(printf '%s\n' "$paragraphs") - <<<"$table" || fail=1

# 3. The example configuration: every "NAME = VALUE" with the section it
# is in, commented out or not (a line's leading '#' is dropped; the rest
# is read as libconfuse reads a file: quoted strings, lists, sections).
settings=$(sed 's/^[[:space:]]*#//' "$example" | awk '
    function tok(    c, q) {
        sub(/^[ \t]+/, "", line)
        if (line == "" || substr(line, 1, 1) == "#") { line = ""; return "" }
        c = substr(line, 1, 1)
        if (c == "\"") {
            q = match(substr(line, 2), /^([^"\\]|\\.)*"/)
            q = q ? RLENGTH + 1 : length(line)
            c = substr(line, 1, q); line = substr(line, q + 1); return c
        }
        if (c ~ /[{}=,]/) { line = substr(line, 2); return c }
        if (match(line, /^[A-Za-z0-9_.*@\/:+-]+/)) {
            c = substr(line, 1, RLENGTH); line = substr(line, RLENGTH + 1)
            return c
        }
        line = substr(line, 2); return "?"
    }
    {
        line = $0; n = 0
        while ((t = tok()) != "") tk[++n] = t
        for (i = 1; i <= n; i++) {
            if (tk[i] == "}") { if (depth > 0) depth--; continue }
            if (tk[i] ~ /^[a-z_]+$/ && tk[i + 1] == "{") {
                stack[++depth] = tk[i]; i++; continue
            }
            if (tk[i] ~ /^[a-z_]+$/ && tk[i + 1] ~ /^"/ && tk[i + 2] == "{") {
                stack[++depth] = tk[i]; i += 2; continue
            }
            if (tk[i] ~ /^[a-z_]+$/ && tk[i + 1] == "=") {
                v = tk[i + 2]; j = i + 2
                if (v == "{") {
                    while (j < n && tk[j] != "}") v = v tk[++j]
                    v = v (tk[j] == "}" ? "" : "}")
                }
                print (depth ? stack[depth] : "-") "\t" tk[i] "\t" v
                i = j; continue
            }
            if (tk[i] == "{") { # a list in prose: skip it
                while (i < n && tk[i] != "}") i++
            }
        }
    }')
awk -F'\t' -v ex="deploy/registrar.conf" '
    NR == FNR { has[$1 "\t" $2] = 1; val[$1 "\t" $2 "\t" $3] = 1; next }
    {
        sec = $1; sub(/.*\./, "", sec)
        if (!((sec "\t" $2) in has)) {
            print ex ": " $1 "." $2 ": missing (commented out or not) " \
                  "in a " sec " section"; bad = 1
        } else if ($4 != "-" && !((sec "\t" $2 "\t" $4) in val)) {
            print ex ": " $1 "." $2 ": no \"" $2 " = " $4 "\" (its default) " \
                  "in a " sec " section"; bad = 1
        }
    }
    END { exit bad }' <(printf '%s\n' "$settings") - <<<"$table" || fail=1

if [ $fail = 0 ]; then
    echo "conf.c's table: $(wc -l <<<"$table") options, each in" \
         "registrar.conf.5 (default, range, choices, reload) and in" \
         "registrar.conf (default)"
fi
exit $fail
