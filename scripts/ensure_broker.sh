#!/usr/bin/env bash
# Make sure a RabbitMQ broker answers at AMQP_URI, and its management API at RABBIT_API_URI.
#
#   AMQP_URI        default amqp://guest:guest@127.0.0.1:5672/
#   RABBIT_API_URI  default http://guest:guest@127.0.0.1:15672  (the test suite creates a
#                   vhost per run through it)
#
# Quick no-op when both answer. Otherwise, for a broker on this machine: installs
# rabbitmq-server with apt when running as root (else prints the command and exits 1),
# starts it (systemctl when systemd is PID 1, else `rabbitmq-server -detached`), enables
# the management plugin and waits until both ports answer. A remote broker that does not
# answer is an error: this script only starts a local one.
set -euo pipefail

AMQP_URI="${AMQP_URI:-amqp://guest:guest@127.0.0.1:5672/}"
RABBIT_API_URI="${RABBIT_API_URI:-http://guest:guest@127.0.0.1:15672}"
BROKER_WAIT="${BROKER_WAIT:-60}"

say() { printf 'ensure_broker: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

# parse_uri URI DEFAULT_PORT -> sets U_USER U_PASS U_HOST U_PORT
parse_uri() {
    local uri="$1" default_port="$2" rest userinfo hostport
    rest="${uri#*://}"
    rest="${rest%%/*}"
    rest="${rest%%\?*}"
    userinfo=""
    if [[ "$rest" == *@* ]]; then
        userinfo="${rest%@*}"
        hostport="${rest##*@}"
    else
        hostport="$rest"
    fi
    U_USER="${userinfo%%:*}"
    U_PASS=""
    [[ "$userinfo" == *:* ]] && U_PASS="${userinfo#*:}"
    if [[ "$hostport" =~ ^\[([^]]+)\](:([0-9]+))?$ ]]; then      # [::1]:5672
        U_HOST="${BASH_REMATCH[1]}"
        U_PORT="${BASH_REMATCH[3]:-$default_port}"
    elif [[ "$hostport" =~ ^([^:]*)(:([0-9]+))?$ ]]; then
        U_HOST="${BASH_REMATCH[1]}"
        U_PORT="${BASH_REMATCH[3]:-$default_port}"
    else
        die "cannot parse host and port from $uri"
    fi
    U_HOST="${U_HOST:-localhost}"
}

port_open() {  # host port
    timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$1" "$2" 2>/dev/null
}

is_local() {  # host
    case "$1" in
        localhost|127.*|::1|0.0.0.0|"$(hostname 2>/dev/null)"|"$(hostname -f 2>/dev/null)") return 0 ;;
    esac
    return 1
}

api_ok() {  # the management API answers 200 with the configured credentials
    local url="http://$API_HOST:$API_PORT/api/overview"
    if command -v curl >/dev/null 2>&1; then
        [[ "$(curl -s -o /dev/null -m 3 --noproxy '*' -u "$API_USER:$API_PASS" -w '%{http_code}' "$url")" == 200 ]]
        return
    fi
    local py
    for py in .venv/bin/python python3.11 python3; do
        if command -v "$py" >/dev/null 2>&1; then
            "$py" - "$url" "$API_USER" "$API_PASS" <<'EOF'
import base64, sys, urllib.request
url, user, password = sys.argv[1:4]
req = urllib.request.Request(url)
req.add_header("Authorization", "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode())
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
try:
    sys.exit(0 if opener.open(req, timeout=3).status == 200 else 1)
except Exception:
    sys.exit(1)
EOF
            return
        fi
    done
    port_open "$API_HOST" "$API_PORT"
}

wait_for() {  # description seconds command...
    local what="$1" seconds="$2" start=$SECONDS
    shift 2
    until "$@"; do
        if (( SECONDS - start >= seconds )); then
            return 1
        fi
        sleep 1
    done
    say "$what is up ($((SECONDS - start)) s)"
}

as_root() {  # run as root: directly, or with password-less sudo; else fail
    if [[ $EUID -eq 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        sudo -n "$@"
    else
        return 127
    fi
}

can_be_root() {
    [[ $EUID -eq 0 ]] || { command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; }
}

systemd_running() { [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null 2>&1; }

parse_uri "$AMQP_URI" 5672
AMQP_HOST="$U_HOST"; AMQP_PORT="$U_PORT"
parse_uri "$RABBIT_API_URI" 15672
API_HOST="$U_HOST"; API_PORT="$U_PORT"; API_USER="${U_USER:-guest}"; API_PASS="${U_PASS:-guest}"

# -- fast path: everything answers ------------------------------------------------------
if port_open "$AMQP_HOST" "$AMQP_PORT" && api_ok; then
    exit 0
fi

# -- the AMQP port ----------------------------------------------------------------------
if ! port_open "$AMQP_HOST" "$AMQP_PORT"; then
    if ! is_local "$AMQP_HOST"; then
        die "no broker answers at $AMQP_HOST:$AMQP_PORT (AMQP_URI); it is not on this machine, so start it there or point AMQP_URI at a running broker"
    fi
    if ! command -v rabbitmq-server >/dev/null 2>&1 && [[ ! -x /usr/sbin/rabbitmq-server ]]; then
        if [[ $EUID -eq 0 ]]; then
            say "rabbitmq-server is not installed: installing it with apt-get"
            export DEBIAN_FRONTEND=noninteractive
            apt-get update -q
            apt-get install -y -q rabbitmq-server
        else
            say "no broker at $AMQP_HOST:$AMQP_PORT and rabbitmq-server is not installed. Run:"
            say "    sudo apt-get update && sudo apt-get install -y rabbitmq-server"
            exit 1
        fi
    fi
    export PATH="$PATH:/usr/sbin:/usr/lib/rabbitmq/bin"
    # The Debian package may have started it already (postinst).
    if ! port_open "$AMQP_HOST" "$AMQP_PORT"; then
        if [[ "$AMQP_PORT" != 5672 ]]; then
            export RABBITMQ_NODE_PORT="$AMQP_PORT"
        fi
        if systemd_running && can_be_root; then
            say "starting rabbitmq-server (systemctl)"
            as_root systemctl start rabbitmq-server
        elif [[ $EUID -eq 0 || "$(id -un)" == rabbitmq ]]; then
            say "starting rabbitmq-server -detached"
            rabbitmq-server -detached
        elif can_be_root; then
            say "starting rabbitmq-server -detached (sudo)"
            sudo -n env ${RABBITMQ_NODE_PORT:+RABBITMQ_NODE_PORT=$RABBITMQ_NODE_PORT} rabbitmq-server -detached
        else
            say "no broker at $AMQP_HOST:$AMQP_PORT; starting RabbitMQ needs root. Run:"
            if systemd_running; then
                say "    sudo systemctl start rabbitmq-server"
            else
                say "    sudo rabbitmq-server -detached"
            fi
            exit 1
        fi
    fi
    wait_for "RabbitMQ (amqp://$AMQP_HOST:$AMQP_PORT)" "$BROKER_WAIT" port_open "$AMQP_HOST" "$AMQP_PORT" \
        || die "RabbitMQ did not open $AMQP_HOST:$AMQP_PORT within $BROKER_WAIT s; see /var/log/rabbitmq/"
    if command -v rabbitmqctl >/dev/null 2>&1; then
        as_root timeout "$BROKER_WAIT" rabbitmqctl -q await_startup >/dev/null 2>&1 || true
    fi
fi

# -- the management API -----------------------------------------------------------------
if ! api_ok; then
    if ! is_local "$API_HOST"; then
        die "the RabbitMQ management API does not answer at $API_HOST:$API_PORT (RABBIT_API_URI); the test suite needs it to create its vhosts"
    fi
    export PATH="$PATH:/usr/sbin:/usr/lib/rabbitmq/bin"
    if ! command -v rabbitmq-plugins >/dev/null 2>&1; then
        die "the management API does not answer at $API_HOST:$API_PORT and rabbitmq-plugins is not here to enable it; enable rabbitmq_management on the broker"
    fi
    say "enabling the management plugin"
    if ! as_root rabbitmq-plugins enable -q rabbitmq_management >/dev/null; then
        say "could not enable the management plugin. Run:"
        say "    sudo rabbitmq-plugins enable rabbitmq_management"
        exit 1
    fi
    wait_for "RabbitMQ management API (http://$API_HOST:$API_PORT)" "$BROKER_WAIT" api_ok \
        || die "the management API did not answer at $API_HOST:$API_PORT within $BROKER_WAIT s (check the credentials in RABBIT_API_URI)"
fi
