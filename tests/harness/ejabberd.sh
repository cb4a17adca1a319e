#!/usr/bin/env bash
# tests/harness/ejabberd.sh: a throwaway ejabberd 23.01 for tests.
#
#   ejabberd.sh start DIR COMPONENT_JID SECRET [COMPONENT_JID SECRET ...]
#       Write DIR/ejabberd.yml (host "localhost", c2s and ONE XEP-0114
#       component listener on free 127.0.0.1 ports, no TLS, no s2s, no
#       http, in-band account registration allowed) and run ejabberd as the
#       package's "ejabberd" user with its mnesia spool, logs, pid file and
#       Erlang cookie in DIR. Waits (bounded) until both ports accept
#       connections and ejabberdctl reaches the node. Writes DIR/env:
#         XMPP_HOST XMPP_DOMAIN XMPP_C2S_PORT XMPP_COMPONENT_PORT
#         EJABBERD_PID EJABBERD_NODE EJABBERD_DIST_PORT
#       A DIR that exists is cleaned first (an ejabberd still running there
#       is stopped).
#   ejabberd.sh adduser DIR USER PASS [USER PASS ...]
#       Create accounts USER@localhost with ejabberdctl register.
#   ejabberd.sh restart DIR
#       Stop it and start it again with the same config, node and spool,
#       so the same ports and accounts.
#   ejabberd.sh stop DIR
#   ejabberd.sh status DIR
#
# The component listener is the project's deploy/ejabberd.yml snippet
# itself (the file operators merge into their config), loaded with
# python3-yaml; only its port and its hosts (each COMPONENT_JID with its
# SECRET as password, other per-host options kept) are replaced.
#
# EJABBERD_DOMAIN_BALANCING="JID=TYPE:N [JID=TYPE:N ...]" adds ejabberd's
# top-level domain_balancing: for those component JIDs (several
# connections of one JID, doc/operating.md "Scaling and high availability"; the
# commented example in deploy/ejabberd.yml): TYPE is random, source,
# destination, bare_source or bare_destination, N (2-1000) its
# component_number. N is required: ejabberd 23.01 reads component_number
# without a default, and a domain given a type alone fails every
# component connection of that JID ({badkey,component_number}). Unset or
# empty: no domain_balancing (ejabberd's default: each stanza goes to one
# connection of the JID at random). Kept across "restart".
#
# Never touches /etc/ejabberd, /var/lib/ejabberd or the system's ejabberd:
# ejabberdctl gets --config-dir DIR, so it reads DIR/ejabberdctl.cfg (which
# this script writes) instead of /etc/ejabberd/ejabberdctl.cfg. The node
# name is unique per DIR, HOME is DIR (so the cookie is DIR/.erlang.cookie),
# and Erlang distribution uses a fixed port (ERL_DIST_PORT, bound to
# 127.0.0.1) instead of epmd: no epmd is started or shared with anyone.
#
# Runs only as root (or as the ejabberd user): ejabberdctl refuses anyone
# else.
set -u -o pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/harness/lib.sh
. "$HERE/lib.sh"

EJABBERDCTL=${EJABBERDCTL:-/usr/sbin/ejabberdctl}
EJABBERD_USER=${EJABBERD_USER:-ejabberd}
EJABBERD_SNIPPET=${EJABBERD_SNIPPET:-$(cd "$HERE/../.." && pwd)/deploy/ejabberd.yml}
EJABBERD_START_TIMEOUT=${EJABBERD_START_TIMEOUT:-30}
EJABBERD_LOG_LEVEL=${EJABBERD_LOG_LEVEL:-info}
XMPP_DOMAIN=localhost

usage()
{
    echo "usage: $0 start DIR COMPONENT_JID SECRET [COMPONENT_JID SECRET ...]" >&2
    echo "       $0 adduser DIR USER PASS [USER PASS ...]" >&2
    echo "       $0 stop|restart|status DIR" >&2
    exit 64
}

check_user()
{
    case $(id -un) in
    root|"$EJABBERD_USER") ;;
    *) harness_die "run as root: ejabberdctl runs only as root or $EJABBERD_USER" ;;
    esac
    id -u "$EJABBERD_USER" >/dev/null 2>&1 ||
        harness_die "user $EJABBERD_USER is missing (apt-get install ejabberd)"
    [ -x "$EJABBERDCTL" ] || harness_die "no $EJABBERDCTL (apt-get install ejabberd)"
}

env_get()
{
    # env_get DIR NAME: a plain (unquoted) value from DIR/env
    sed -n "s/^$2=//p" "$1/env" 2>/dev/null | head -n 1
}

# ctl DIR SECS ARGS...: ejabberdctl for the node in DIR, as the ejabberd
# user, with HOME=DIR (the cookie), killed after SECS.
ctl()
{
    local dir=$1 secs=$2 node
    shift 2
    node=$(sed -n 's/^ERLANG_NODE=//p' "$dir/ejabberdctl.cfg" 2>/dev/null)
    [ -n "$node" ] || return 1
    HARNESS_USER=$EJABBERD_USER HARNESS_HOME=$dir as_user "$secs" \
        "$EJABBERDCTL" --config-dir "$dir" --config "$dir/ejabberd.yml" \
        --ctl-config "$dir/ejabberdctl.cfg" --spool "$dir/spool" \
        --logs "$dir/logs" --node "$node" "$@"
}

# ejabberd_pid DIR: the running beam.smp of DIR (from the pid file that
# ejabberd writes, or else the launcher's child).
ejabberd_pid()
{
    local dir=$1 pid
    if [ -r "$dir/ejabberd.pid" ]; then
        pid=$(head -n 1 "$dir/ejabberd.pid")
        if pid_runs "$pid" "$dir/spool"; then
            echo "$pid"
            return 0
        fi
    fi
    if [ -r "$dir/launcher.pid" ]; then
        pid=$(head -n 1 "$dir/launcher.pid")
        if pid_runs "$pid" "$dir/spool"; then
            for pid in $(pgrep -P "$pid"); do
                if pid_runs "$pid" "$dir/spool"; then
                    echo "$pid"
                    return 0
                fi
            done
        fi
    fi
    return 1
}

ejabberd_stop()
{
    local dir=$1 pid lpid="" i
    if [ -r "$dir/launcher.pid" ]; then
        lpid=$(head -n 1 "$dir/launcher.pid")
        pid_runs "$lpid" "$dir/spool" || lpid=""
    fi
    if pid=$(ejabberd_pid "$dir"); then
        # the orderly way first; then SIGTERM (init:stop() in OTP 25), then
        # SIGKILL (stop_pid)
        ctl "$dir" 20 stop >/dev/null 2>&1
        for ((i = 0; i < 150; i++)); do
            pid_alive "$pid" || break
            sleep 0.1
        done
        stop_pid "$pid" 10 TERM || harness_die "cannot stop ejabberd pid $pid"
    fi
    # the ejabberdctl foreground shell exits with beam; make sure
    if [ -n "$lpid" ]; then
        stop_pid "$lpid" 5 TERM || harness_die "cannot stop ejabberdctl pid $lpid"
    fi
    rm -f "$dir/ejabberd.pid" "$dir/launcher.pid"
}

# write_listener PORT JID SECRET...: the snippet's ejabberd_service entry,
# with PORT and these hosts, as YAML list items indented for "listen:".
write_listener()
{
    [ -r "$EJABBERD_SNIPPET" ] || harness_die "no snippet $EJABBERD_SNIPPET"
    "$PYTHON" - "$EJABBERD_SNIPPET" "$@" <<'EOF' | sed 's/^/  /'
import sys
try:
    import yaml
except ImportError:
    sys.exit("harness: python3-yaml is missing (apt-get install python3-yaml)")

path, port, pairs = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
with open(path) as f:
    doc = yaml.safe_load(f)
listen = doc.get("listen") if isinstance(doc, dict) else None
services = [l for l in (listen or [])
            if isinstance(l, dict) and l.get("module") == "ejabberd_service"]
if len(services) != 1:
    sys.exit("harness: %s: want exactly one ejabberd_service in listen:, "
             "found %d" % (path, len(services)))
svc = dict(services[0])
if svc.get("ip") != "127.0.0.1":
    sys.exit("harness: %s: the component listener's ip is %r, not "
             "\"127.0.0.1\"" % (path, svc.get("ip")))
hosts = svc.get("hosts")
if not isinstance(hosts, dict) or len(hosts) < 1:
    sys.exit("harness: %s: no hosts: in the ejabberd_service entry" % path)
template = next(iter(hosts.values()))
if not isinstance(template, dict) or "password" not in template:
    sys.exit("harness: %s: the host has no password:" % path)
if "port" not in svc:
    sys.exit("harness: %s: the ejabberd_service entry has no port:" % path)

svc["port"] = port
# ejabberd's default global_routes: true makes every connection register
# routes for ALL hosts of the listener, so with two components on one
# listener each receives a share of the other's stanzas. With one host it
# makes no difference; with several, the tests need it off.
if len(pairs) > 2 and svc.get("global_routes", True) is not False:
    svc["global_routes"] = False
    sys.stderr.write("harness: warning: %s does not set global_routes: "
                     "false; set here, or components on one listener "
                     "would get each other's stanzas\n" % path)
svc["hosts"] = {}
for jid, secret in zip(pairs[0::2], pairs[1::2]):
    opts = dict(template)
    opts["password"] = secret
    svc["hosts"][jid] = opts
print("## from %s, port and hosts replaced" % path)
sys.stdout.write(yaml.safe_dump([svc], default_flow_style=False,
                                sort_keys=False, allow_unicode=True))
EOF
}

# balancing: the top-level domain_balancing: block of
# $EJABBERD_DOMAIN_BALANCING (usage above); nothing when it is unset.
balancing()
{
    local item jid spec type n
    [ -n "${EJABBERD_DOMAIN_BALANCING:-}" ] || return 0
    echo "# several connections of one component JID"
    echo "# (EJABBERD_DOMAIN_BALANCING=\"$EJABBERD_DOMAIN_BALANCING\")"
    echo "domain_balancing:"
    for item in $EJABBERD_DOMAIN_BALANCING; do
        jid=${item%%=*}
        spec=${item#*=}
        type=${spec%%:*}
        n=${spec#*:}
        [ "$jid" != "$item" ] && [ -n "$jid" ] && [ "$n" != "$spec" ] ||
            harness_die "EJABBERD_DOMAIN_BALANCING: '$item' is not JID=TYPE:N"
        case $type in
        random|source|destination|bare_source|bare_destination) ;;
        *) harness_die "EJABBERD_DOMAIN_BALANCING: '$item': no such type '$type'" ;;
        esac
        case $n in
        ''|*[!0-9]*) harness_die "EJABBERD_DOMAIN_BALANCING: '$item': N is not a number" ;;
        esac
        [ "$n" -ge 2 ] && [ "$n" -le 1000 ] ||
            harness_die "EJABBERD_DOMAIN_BALANCING: '$item': N must be 2 to 1000"
        printf '  "%s":\n    type: %s\n    component_number: %s\n' \
            "$jid" "$type" "$n"
    done
}

write_config()
{
    local dir=$1 c2s=$2 comp=$3 listener balance
    shift 3
    listener=$(write_listener "$comp" "$@") || exit 1
    balance=$(balancing) || exit 1
    cat >"$dir/ejabberd.yml" <<EOF
## written by tests/harness/ejabberd.sh; throwaway, loopback only
hosts:
  - "$XMPP_DOMAIN"
loglevel: $EJABBERD_LOG_LEVEL
hide_sensitive_log_data: false

auth_method: internal
auth_password_format: plain
default_db: mnesia
# no TLS anywhere, no certificates, never ask Let's Encrypt
certfiles: []
acme:
  auto: false
# no server-to-server, in or out
s2s_access: none
# in-band registration of many accounts from 127.0.0.1 in a row
registration_timeout: infinity

acl:
  loopback:
    ip:
      - 127.0.0.0/8
      - ::1/128

access_rules:
  local:
    allow: all

listen:
  -
    port: $c2s
    ip: "127.0.0.1"
    module: ejabberd_c2s
    starttls: false
    starttls_required: false
    # the e2e race opens 25 client connections at once; the default is 5
    backlog: 128
$listener
$balance

modules:
  mod_disco: {}
  mod_ping: {}
  mod_roster: {}
  mod_register:
    ip_access: all
EOF
}

# write_ctl_cfg DIR NODE DIST_PORT: DIR/ejabberdctl.cfg, sourced by
# ejabberdctl (instead of /etc/ejabberd/ejabberdctl.cfg).
write_ctl_cfg()
{
    cat >"$1/ejabberdctl.cfg" <<EOF
# written by tests/harness/ejabberd.sh
ERLANG_NODE=$2
ERL_DIST_PORT=$3
INET_DIST_INTERFACE=
ERL_EPMD_ADDRESS=127.0.0.1
ERL_OPTIONS="-env ERL_CRASH_DUMP_BYTES 0 -kernel inet_dist_use_interface {127,0,0,1}"
EJABBERD_PID_PATH=$1/ejabberd.pid
CONTRIB_MODULES_PATH=$1/contrib
CONTRIB_MODULES_CONF_DIR=$1/contrib/conf
EJABBERD_BYPASS_WARNINGS=true
EOF
    cat >"$1/inetrc" <<'EOF'
{lookup,["file","native"]}.
{host,{127,0,0,1}, ["localhost"]}.
EOF
}

# launch DIR: run "ejabberdctl foreground" in the background; prints the
# launcher's PID (a shell whose child is beam.smp).
launch()
{
    local dir=$1 node
    node=$(sed -n 's/^ERLANG_NODE=//p' "$dir/ejabberdctl.cfg")
    set -- "$EJABBERDCTL" --config-dir "$dir" --config "$dir/ejabberd.yml" \
        --ctl-config "$dir/ejabberdctl.cfg" --spool "$dir/spool" \
        --logs "$dir/logs" --node "$node" foreground
    if [ "$(id -u)" = 0 ]; then
        setsid setpriv --reuid="$EJABBERD_USER" --regid="$EJABBERD_USER" \
            --init-groups --reset-env -- \
            env HOME="$dir" LC_ALL=C.UTF-8 "$@" \
            </dev/null >>"$dir/ejabberd.out" 2>&1 &
    else
        HOME=$dir setsid "$@" </dev/null >>"$dir/ejabberd.out" 2>&1 &
    fi
    echo "$!" >"$dir/launcher.pid"
    echo "$!"
}

# up DIR LAUNCHER_PID C2S COMP: wait (bounded) until both ports accept
# connections, ejabberd did not fail to bind either, and ejabberdctl
# reaches the node.
up()
{
    local dir=$1 pid=$2 c2s=$3 comp=$4 end
    end=$((SECONDS + EJABBERD_START_TIMEOUT))
    wait_port "$c2s" "$EJABBERD_START_TIMEOUT" "$pid" || return 1
    wait_port "$comp" $((end - SECONDS > 1 ? end - SECONDS : 1)) "$pid" ||
        return 1
    # a port that answers may be someone else's: ejabberd says so (and
    # stops: {failed_to_start_child,{PORT,{127,0,0,1},tcp},eaddrinuse})
    if port_taken "$dir"; then
        return 1
    fi
    while ! ctl "$dir" 10 status >/dev/null 2>&1; do
        pid_alive "$pid" && [ "$SECONDS" -lt "$end" ] || return 1
        sleep 0.5
    done
    return 0
}

port_taken()
{
    grep -qs eaddrinuse "$1/ejabberd.out" "$1/logs/ejabberd.log"
}

show_logs()
{
    tail -n 20 "$1/ejabberd.out" "$1/logs/ejabberd.log" "$1/logs/error.log" \
        >&2 2>/dev/null
}

write_env()
{
    local dir=$1 c2s=$2 comp=$3 node=$4 dist=$5
    {
        echo "XMPP_HOST=127.0.0.1"
        echo "XMPP_DOMAIN=$XMPP_DOMAIN"
        echo "XMPP_C2S_PORT=$c2s"
        echo "XMPP_COMPONENT_PORT=$comp"
        echo "EJABBERD_PID=$(ejabberd_pid "$dir")"
        echo "EJABBERD_NODE=$(env_quote "$node")"
        echo "EJABBERD_DIST_PORT=$dist"
    } >"$dir/env"
}

prepare_run_dirs()
{
    local dir=$1
    mkdir -p "$dir/spool" "$dir/logs" "$dir/contrib" &&
        chmod 750 "$dir/spool" "$dir/logs" ||
        harness_die "cannot create $dir/spool, $dir/logs"
    : >"$dir/ejabberd.out"
    if [ "$(id -u)" = 0 ]; then
        chown -R "$EJABBERD_USER:" "$dir/spool" "$dir/logs" "$dir/contrib" \
            "$dir/ejabberd.yml" "$dir/ejabberdctl.cfg" "$dir/inetrc" ||
            harness_die "cannot chown $dir"
    fi
}

ejabberd_restart()
{
    local dir c2s comp node dist pid
    check_user
    dir=$(cd "$1" && pwd -P) || harness_die "no such directory $1"
    [ -r "$dir/env" ] || harness_die "no running ejabberd in $dir"
    c2s=$(env_get "$dir" XMPP_C2S_PORT)
    comp=$(env_get "$dir" XMPP_COMPONENT_PORT)
    dist=$(env_get "$dir" EJABBERD_DIST_PORT)
    node=$(sed -n 's/^ERLANG_NODE=//p' "$dir/ejabberdctl.cfg")
    ejabberd_stop "$dir"
    # the same node name (the mnesia spool belongs to it), a new
    # distribution port if the old one was taken meanwhile
    if ! "$PYTHON" -c 'import socket,sys; s=socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1])))' "$dist" 2>/dev/null; then
        dist=$(free_port) || harness_die "no free port"
        write_ctl_cfg "$dir" "$node" "$dist"
    fi
    pid=$(launch "$dir") || harness_die "cannot launch ejabberd"
    if ! up "$dir" "$pid" "$c2s" "$comp"; then
        show_logs "$dir"
        ejabberd_stop "$dir"
        harness_die "ejabberd did not come back on c2s $c2s / component $comp"
    fi
    write_env "$dir" "$c2s" "$comp" "$node" "$dist"
    harness_log "ejabberd restarted on c2s 127.0.0.1:$c2s, component 127.0.0.1:$comp"
}

ejabberd_start()
{
    local dir c2s comp dist node attempt pid ok=0
    if [ $# -lt 3 ] || [ $(( ($# - 1) % 2 )) -ne 0 ]; then
        usage
    fi
    check_user
    dir=$(HARNESS_USER=$EJABBERD_USER harness_prepare_dir "$1") || exit 1
    shift
    case $dir in
    *[[:space:]\"\'\\]*)
        # ejabberdctl passes the spool to erl as -mnesia dir "DIR/spool"
        harness_die "$dir: no blanks or quotes in the directory, please" ;;
    esac

    ejabberd_stop "$dir"
    rm -rf "$dir/spool" "$dir/logs" "$dir/contrib" "$dir/env" \
        "$dir/ejabberd.out" "$dir/.erlang.cookie"
    # the Erlang cookie: ejabberd and ejabberdctl both run with HOME=DIR
    head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$dir/.erlang.cookie" &&
        chmod 400 "$dir/.erlang.cookie" || harness_die "cannot write the cookie"
    [ "$(id -u)" = 0 ] && chown "$EJABBERD_USER:" "$dir/.erlang.cookie"

    for attempt in 1 2 3 4 5; do
        c2s=$(free_port) || harness_die "no free port"
        comp=$(free_port) || harness_die "no free port"
        dist=$(free_port) || harness_die "no free port"
        [ "$c2s" != "$comp" ] && [ "$c2s" != "$dist" ] &&
            [ "$comp" != "$dist" ] || continue
        node=registrar-test-$dist@localhost
        rm -rf "$dir/spool" "$dir/logs"
        write_config "$dir" "$c2s" "$comp" "$@"
        write_ctl_cfg "$dir" "$node" "$dist"
        prepare_run_dirs "$dir"

        pid=$(launch "$dir") || harness_die "cannot launch ejabberd"
        if up "$dir" "$pid" "$c2s" "$comp"; then
            ok=1
            break
        fi
        harness_log "ejabberd did not come up on c2s $c2s / component $comp (attempt $attempt)"
        show_logs "$dir"
        ejabberd_stop "$dir"
        # only a port taken meanwhile is worth another try
        port_taken "$dir" || break
    done
    [ "$ok" = 1 ] || harness_die "cannot start ejabberd in $dir"

    write_env "$dir" "$c2s" "$comp" "$node" "$dist"
    harness_log "ejabberd running: c2s 127.0.0.1:$c2s, component 127.0.0.1:$comp, env in $dir/env"
}

ejabberd_adduser()
{
    local dir
    if [ $# -lt 3 ] || [ $(( ($# - 1) % 2 )) -ne 0 ]; then
        usage
    fi
    check_user
    dir=$(cd "$1" && pwd -P) || harness_die "no such directory $1"
    shift
    [ -r "$dir/ejabberdctl.cfg" ] || harness_die "$dir has no ejabberdctl.cfg"
    while [ $# -ge 2 ]; do
        # the password goes on the command line: fine for throwaway
        # test accounts, never for real ones
        ctl "$dir" 30 register "$1" "$XMPP_DOMAIN" "$2" >/dev/null ||
            harness_die "ejabberdctl register $1@$XMPP_DOMAIN failed"
        shift 2
    done
}

[ $# -ge 2 ] || usage
cmd=$1
shift
case $cmd in
start)
    ejabberd_start "$@"
    ;;
adduser)
    ejabberd_adduser "$@"
    ;;
restart)
    [ $# -eq 1 ] || usage
    ejabberd_restart "$1"
    ;;
stop)
    [ $# -eq 1 ] || usage
    [ -d "$1" ] || exit 0
    check_user
    ejabberd_stop "$(cd "$1" && pwd -P)"
    ;;
status)
    [ $# -eq 1 ] || usage
    ejabberd_pid "$(cd "$1" && pwd -P)" >/dev/null
    ;;
*)
    usage
    ;;
esac
