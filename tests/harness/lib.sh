# shellcheck shell=bash
# tests/harness/lib.sh: helpers shared by pg.sh and prosody.sh.
#
# Sourced, not run. Everything here is bounded in time and touches only
# 127.0.0.1 and the directory it is given.

HARNESS_USER=${HARNESS_USER:-registrar-test}
PYTHON=${PYTHON:-/usr/bin/python3}

harness_die()
{
    echo "harness: $*" >&2
    exit 1
}

harness_log()
{
    echo "harness: $*" >&2
}

# The unprivileged user that initdb, postgres and prosody run as. CI runs
# on fresh machines, so create it when it is missing.
harness_ensure_user()
{
    if id -u "$HARNESS_USER" >/dev/null 2>&1; then
        return 0
    fi
    [ "$(id -u)" = 0 ] ||
        harness_die "user $HARNESS_USER is missing and only root can add it"
    useradd --system --user-group --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin \
        "$HARNESS_USER" ||
        id -u "$HARNESS_USER" >/dev/null 2>&1 ||   # lost a race: fine
        harness_die "useradd $HARNESS_USER failed"
}

# as_user SECS CMD ARGS...: run CMD as the harness user (as is, when we
# are not root: then we are already unprivileged), killed after SECS.
as_user()
{
    local secs=$1
    shift
    if [ "$(id -u)" = 0 ]; then
        timeout "$secs" setpriv --reuid="$HARNESS_USER" \
            --regid="$HARNESS_USER" --init-groups --reset-env -- \
            env HOME="${HARNESS_HOME:-/tmp}" LC_ALL=C.UTF-8 "$@"
    else
        timeout "$secs" "$@"
    fi
}

# harness_prepare_dir DIR: make DIR exist, absolute, owned by the harness
# user, and reachable by it. Prints the absolute path.
harness_prepare_dir()
{
    local dir=$1
    mkdir -p "$dir" || harness_die "cannot create $dir"
    dir=$(cd "$dir" && pwd -P) || harness_die "cannot enter $dir"
    if [ "$(id -u)" = 0 ]; then
        chown "$HARNESS_USER:" "$dir" || harness_die "cannot chown $dir"
        # every parent must be traversable by the harness user
        if ! setpriv --reuid="$HARNESS_USER" --regid="$HARNESS_USER" \
                --init-groups -- test -w "$dir" -a -x "$dir"; then
            harness_die "$dir is not reachable by $HARNESS_USER" \
                "(a parent directory is private?); use a directory under /tmp"
        fi
    fi
    printf '%s\n' "$dir"
}

# free_port: print a TCP port that is free on 127.0.0.1 right now.
# The kernel picks it (bind to port 0), so parallel runs do not collide
# the way a scan from a fixed base would.
free_port()
{
    "$PYTHON" - <<'EOF'
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
EOF
}

# port_open PORT: true when something accepts connections on 127.0.0.1:PORT.
port_open()
{
    timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

# wait_port PORT SECONDS [PID]: wait until PORT accepts connections; fail
# after SECONDS, or at once when PID (if given) has died.
wait_port()
{
    local port=$1 secs=$2 pid=${3:-} i
    for ((i = 0; i < secs * 10; i++)); do
        if port_open "$port"; then
            return 0
        fi
        if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
            return 1
        fi
        sleep 0.1
    done
    return 1
}

# pid_alive PID: true when PID is a live process (not a zombie).
pid_alive()
{
    local state
    [ -n "$1" ] || return 1
    kill -0 "$1" 2>/dev/null || return 1
    state=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
    case $state in Z*) return 1 ;; esac
    return 0
}

# pid_runs PID TEXT: true when PID is alive and its command line contains
# TEXT (so that a stale pid file never makes us signal a stranger that got
# the same PID).
pid_runs()
{
    pid_alive "$1" || return 1
    tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -q -F -- "$2"
}

# stop_pid PID SECONDS [SIGNAL]: send SIGNAL (TERM) to PID, wait up to
# SECONDS for it to go, then SIGKILL it. Returns 0 once it is gone.
stop_pid()
{
    local pid=$1 secs=${2:-10} sig=${3:-TERM} i
    pid_alive "$pid" || return 0
    kill "-$sig" "$pid" 2>/dev/null
    for ((i = 0; i < secs * 10; i++)); do
        pid_alive "$pid" || return 0
        sleep 0.1
    done
    harness_log "pid $pid ignored SIG$sig for ${secs}s: SIGKILL"
    kill -KILL "$pid" 2>/dev/null
    for ((i = 0; i < 50; i++)); do
        pid_alive "$pid" || return 0
        sleep 0.1
    done
    return 1
}

# env_quote VALUE: VALUE quoted for a shell-sourceable env file.
env_quote()
{
    printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"
}
