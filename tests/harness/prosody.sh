#!/usr/bin/env bash
# tests/harness/prosody.sh: a throwaway Prosody 0.12 for tests.
#
#   prosody.sh start DIR COMPONENT_JID SECRET [COMPONENT_JID SECRET ...]
#       Write DIR/prosody.cfg.lua (VirtualHost "localhost", c2s and the
#       XEP-0114 component listener on free 127.0.0.1 ports, no TLS, no
#       s2s, in-band account registration allowed). Its component part is
#       the operator's snippet deploy/prosody.cfg.lua itself (or
#       $PROSODY_SNIPPET): the snippet's global lines (component_ports,
#       component_interfaces) with the port and interface substituted, and
#       its Component block once per JID/SECRET pair with the name and
#       component_secret substituted; it fails when the snippet no longer
#       has exactly those lines. Runs prosody as registrar-test with its
#       data, pid file and log in DIR, and waits (bounded) until both
#       ports accept connections. Writes DIR/env:
#         XMPP_HOST XMPP_DOMAIN XMPP_C2S_PORT XMPP_COMPONENT_PORT PROSODY_PID
#       A DIR that exists is cleaned first (a prosody still running there
#       is stopped).
#   prosody.sh adduser DIR USER PASS [USER PASS ...]
#       Create accounts USER@localhost with prosodyctl (as registrar-test).
#   prosody.sh restart DIR
#       Stop it and start it again with the same config, so the same ports
#       (for tests of components that must attach again).
#   prosody.sh stop DIR
#   prosody.sh status DIR
#
# Never touches /etc/prosody or the system's prosody: everything comes from
# DIR/prosody.cfg.lua.
set -u -o pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/harness/lib.sh
. "$HERE/lib.sh"

PROSODY=${PROSODY:-/usr/bin/prosody}
PROSODYCTL=${PROSODYCTL:-/usr/bin/prosodyctl}
PROSODY_START_TIMEOUT=${PROSODY_START_TIMEOUT:-20}
PROSODY_LOG_LEVEL=${PROSODY_LOG_LEVEL:-debug}
XMPP_DOMAIN=localhost

usage()
{
    echo "usage: $0 start DIR COMPONENT_JID SECRET [COMPONENT_JID SECRET ...]" >&2
    echo "       $0 adduser DIR USER PASS [USER PASS ...]" >&2
    echo "       $0 stop|restart|status DIR" >&2
    exit 64
}

prosody_pid()
{
    local dir=$1 pid
    for f in "$dir/prosody.pid" "$dir/launcher.pid"; do
        [ -r "$f" ] || continue
        pid=$(head -n 1 "$f")
        if pid_runs "$pid" "$dir/prosody.cfg.lua"; then
            echo "$pid"
            return 0
        fi
    done
    return 1
}

prosody_stop()
{
    local dir=$1 pid
    for f in "$dir/prosody.pid" "$dir/launcher.pid"; do
        [ -r "$f" ] || continue
        pid=$(head -n 1 "$f")
        # a stale pid file may name someone else's process by now
        pid_runs "$pid" "$dir/prosody.cfg.lua" || continue
        stop_pid "$pid" 10 TERM || harness_die "cannot stop prosody pid $pid"
    done
    rm -f "$dir/prosody.pid" "$dir/launcher.pid"
}

lua_quote()
{
    # a Lua long-bracket-free string literal
    printf '"%s"' "$(printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g')"
}

SNIPPET=${PROSODY_SNIPPET:-$(cd "$HERE/../.." && pwd)/deploy/prosody.cfg.lua}

# snippet_globals PORT: the snippet's lines before its first Component
# line, with the value of component_ports made { PORT } and that of
# component_interfaces { "127.0.0.1" }. Fails unless each was there once.
snippet_globals()
{
    SNIPPET_PORT=$1 awk '
        /^[ \t]*Component[ \t]/ { exit }
        /^[ \t]*component_ports[ \t]*=/ {
            ports += sub(/\{[^}]*\}/, "{ " ENVIRON["SNIPPET_PORT"] " }")
        }
        /^[ \t]*component_interfaces[ \t]*=/ {
            ifaces += sub(/\{[^}]*\}/, "{ \"127.0.0.1\" }")
        }
        { print }
        END {
            if (ports != 1 || ifaces != 1) {
                printf "component_ports substituted %d times, " \
                    "component_interfaces %d times (want 1 each)\n", \
                    ports, ifaces > "/dev/stderr"
                exit 1
            }
        }' "$SNIPPET"
}

# snippet_component JID SECRET: the snippet's Component block (from its
# Component line to the end) for JID and SECRET. Fails unless it has
# exactly one Component line and one component_secret.
snippet_component()
{
    SNIPPET_JID=$(lua_quote "$1") SNIPPET_SECRET=$(lua_quote "$2") awk '
        /^[ \t]*Component[ \t]/ {
            inblock = 1
            # built by hand, not with sub(): & and \ in the values stay
            if (match($0, /Component[ \t]+("[^"]*"|\047[^\047]*\047)/)) {
                $0 = substr($0, 1, RSTART - 1) "Component " \
                    ENVIRON["SNIPPET_JID"] substr($0, RSTART + RLENGTH)
                names++
            }
        }
        !inblock { next }
        /^[ \t]*component_secret[ \t]*=/ {
            match($0, /=.*/)
            $0 = substr($0, 1, RSTART - 1) "= " ENVIRON["SNIPPET_SECRET"]
            secrets++
        }
        { print }
        END {
            if (names != 1 || secrets != 1) {
                printf "%d Component lines, %d component_secret " \
                    "substituted (want 1 each)\n", names, secrets \
                    > "/dev/stderr"
                exit 1
            }
        }' "$SNIPPET"
}

write_config()
{
    local dir=$1 c2s=$2 comp=$3 globals block
    shift 3
    [ -r "$SNIPPET" ] || harness_die "no Prosody snippet at $SNIPPET"
    globals=$(snippet_globals "$comp") ||
        harness_die "$SNIPPET: cannot substitute the component port/interface"
    {
        cat <<EOF
-- written by tests/harness/prosody.sh; throwaway, loopback only
pidfile = "$dir/prosody.pid"
data_path = "$dir/data"
certificates = "$dir/certs"
log = { $PROSODY_LOG_LEVEL = "$dir/prosody.log" }
daemonize = false
use_libevent = false

interfaces = { "127.0.0.1" }
local_interfaces = { "127.0.0.1" }
c2s_ports = { $c2s }
c2s_interfaces = { "127.0.0.1" }
s2s_ports = { }
c2s_direct_tls_ports = { }
s2s_direct_tls_ports = { }
http_ports = { }
https_ports = { }
admin_socket = "$dir/admin.sock"

c2s_require_encryption = false
s2s_require_encryption = false
allow_unencrypted_plain_auth = true
authentication = "internal_hashed"
storage = "internal"

-- in-band account creation on the server itself; loopback is exempt from
-- mod_register_limits' throttle by default
allow_registration = true
min_seconds_between_registrations = 0

modules_enabled = {
    "roster"; "saslauth"; "disco"; "ping"; "register"; "posix";
    "version";
}
modules_disabled = { "s2s"; "tls"; "offline" }

-- ---- from $SNIPPET: its global part (port, interface substituted)
$globals
-- ---- end of the snippet's global part

VirtualHost "$XMPP_DOMAIN"
EOF
        while [ $# -ge 2 ]; do
            block=$(snippet_component "$1" "$2") ||
                harness_die "$SNIPPET: cannot substitute the Component block"
            printf '\n-- ---- from %s: its Component block for %s\n%s\n' \
                "$SNIPPET" "$1" "$block"
            shift 2
        done
    } >"$dir/prosody.cfg.lua"
}

# launch DIR: run prosody with DIR/prosody.cfg.lua in the background;
# prints its PID.
launch()
{
    local dir=$1
    # setsid: its own session and process group, away from our terminal;
    # setsid, setpriv and env all exec, so $! is prosody itself
    if [ "$(id -u)" = 0 ]; then
        setsid setpriv --reuid="$HARNESS_USER" --regid="$HARNESS_USER" \
            --init-groups --reset-env -- \
            env HOME="$dir" LC_ALL=C.UTF-8 \
            "$PROSODY" -F --config "$dir/prosody.cfg.lua" \
            </dev/null >>"$dir/prosody.out" 2>&1 &
    else
        setsid "$PROSODY" -F --config "$dir/prosody.cfg.lua" \
            </dev/null >>"$dir/prosody.out" 2>&1 &
    fi
    echo "$!" >"$dir/launcher.pid"
    echo "$!"
}

prosody_restart()
{
    local dir c2s comp pid
    dir=$(cd "$1" && pwd -P) || harness_die "no such directory $1"
    [ -r "$dir/env" ] || harness_die "no running prosody in $dir"
    c2s=$(sed -n 's/^XMPP_C2S_PORT=//p' "$dir/env")
    comp=$(sed -n 's/^XMPP_COMPONENT_PORT=//p' "$dir/env")
    prosody_stop "$dir"
    pid=$(launch "$dir") || harness_die "cannot launch prosody"
    if ! wait_port "$c2s" "$PROSODY_START_TIMEOUT" "$pid" ||
            ! wait_port "$comp" "$PROSODY_START_TIMEOUT" "$pid"; then
        tail -n 20 "$dir/prosody.out" "$dir/prosody.log" >&2
        harness_die "prosody did not come back on c2s $c2s / component $comp"
    fi
    sed -i "s/^PROSODY_PID=.*/PROSODY_PID=$(prosody_pid "$dir")/" "$dir/env"
    harness_log "prosody restarted on c2s 127.0.0.1:$c2s, component 127.0.0.1:$comp"
}

prosody_start()
{
    local dir c2s comp attempt pid ok=0
    if [ $# -lt 3 ] || [ $(( ($# - 1) % 2 )) -ne 0 ]; then
        usage
    fi
    harness_ensure_user
    dir=$(harness_prepare_dir "$1") || exit 1
    shift

    prosody_stop "$dir"
    rm -rf "$dir/data" "$dir/env" "$dir/prosody.log" "$dir/prosody.out" \
        "$dir/admin.sock"
    # certs/ stays empty: no TLS anywhere
    mkdir -p "$dir/data" "$dir/certs" && chmod 750 "$dir/data"
    [ "$(id -u)" = 0 ] && chown "$HARNESS_USER:" "$dir/data" "$dir/certs"

    for attempt in 1 2 3 4 5; do
        c2s=$(free_port) || harness_die "no free port"
        comp=$(free_port) || harness_die "no free port"
        [ "$c2s" != "$comp" ] || continue
        write_config "$dir" "$c2s" "$comp" "$@"
        : >"$dir/prosody.log"
        [ "$(id -u)" = 0 ] && chown "$HARNESS_USER:" "$dir/prosody.log"

        pid=$(launch "$dir") || harness_die "cannot launch prosody"
        if wait_port "$c2s" "$PROSODY_START_TIMEOUT" "$pid" &&
                wait_port "$comp" "$PROSODY_START_TIMEOUT" "$pid" &&
                ! grep -q "Failed to open server port" "$dir/prosody.log"; then
            ok=1
            break
        fi
        harness_log "prosody did not come up on c2s $c2s / component $comp (attempt $attempt)"
        tail -n 20 "$dir/prosody.out" "$dir/prosody.log" >&2
        prosody_stop "$dir"
    done
    [ "$ok" = 1 ] || harness_die "cannot start prosody in $dir"

    {
        echo "XMPP_HOST=127.0.0.1"
        echo "XMPP_DOMAIN=$XMPP_DOMAIN"
        echo "XMPP_C2S_PORT=$c2s"
        echo "XMPP_COMPONENT_PORT=$comp"
        echo "PROSODY_PID=$(prosody_pid "$dir")"
    } >"$dir/env"
    harness_log "prosody running: c2s 127.0.0.1:$c2s, component 127.0.0.1:$comp, env in $dir/env"
}

prosody_adduser()
{
    local dir
    if [ $# -lt 3 ] || [ $(( ($# - 1) % 2 )) -ne 0 ]; then
        usage
    fi
    dir=$(cd "$1" && pwd -P) || harness_die "no such directory $1"
    shift
    [ -r "$dir/prosody.cfg.lua" ] || harness_die "$dir has no prosody.cfg.lua"
    while [ $# -ge 2 ]; do
        # the password goes on the command line: fine for throwaway
        # test accounts, never for real ones
        as_user 30 "$PROSODYCTL" --config "$dir/prosody.cfg.lua" \
            register "$1" "$XMPP_DOMAIN" "$2" >/dev/null ||
            harness_die "prosodyctl register $1@$XMPP_DOMAIN failed"
        shift 2
    done
}

[ $# -ge 2 ] || usage
cmd=$1
shift
case $cmd in
start)
    prosody_start "$@"
    ;;
adduser)
    prosody_adduser "$@"
    ;;
restart)
    [ $# -eq 1 ] || usage
    prosody_restart "$1"
    ;;
stop)
    [ $# -eq 1 ] || usage
    [ -d "$1" ] || exit 0
    prosody_stop "$(cd "$1" && pwd -P)"
    ;;
status)
    [ $# -eq 1 ] || usage
    prosody_pid "$(cd "$1" && pwd -P)" >/dev/null
    ;;
*)
    usage
    ;;
esac
