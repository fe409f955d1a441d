#!/usr/bin/env bash
# Installs and runs localstripe, a stateful fake of Stripe's API, for the
# co-op's Stripe tests (relay/coop/stripe, internal/stripetest). It is a
# Python package: installed with pip from PyPI into a virtual environment
# under the state directory. It listens on 127.0.0.1 only and takes any
# secret key: for tests, never expose it.
#
#   scripts/localstripe.sh fetch    install localstripe into the state directory if missing
#   scripts/localstripe.sh command  print the path of the localstripe command (fetch first if missing)
#   scripts/localstripe.sh env      print MUTUAL_TEST_LOCALSTRIPE (the command) as a shell export
#   scripts/localstripe.sh start    fetch if missing, start one server, wait until it answers
#   scripts/localstripe.sh stop     stop that server and wait for it to exit
#   scripts/localstripe.sh status   print "running PID URL" or "stopped" (exit 1 when stopped)
#   scripts/localstripe.sh url      print the started server's URL
#
# The tests read MUTUAL_TEST_LOCALSTRIPE: the command, and each test
# starts its own server on a free port with --from-scratch (what `env`
# prints and scripts/test.sh uses), or the URL of a running server
# (`start`, then MUTUAL_TEST_LOCALSTRIPE=$(scripts/localstripe.sh url)),
# which the tests then share.
#
# Environment (all optional):
#   MUTUAL_LOCALSTRIPE_DIR   state directory (default: <repo>/.cache/localstripe)
#   MUTUAL_LOCALSTRIPE_PORT  port of `start` (default 57080)
#   MUTUAL_LOCALSTRIPE_WAIT  seconds to wait for start (default 60)
#   PYTHON                   the Python 3 that makes the environment (default python3)
#
# Typical test run:
#   eval "$(scripts/localstripe.sh env)"
#   go test ./relay/coop/stripe/ ./internal/stripetest/
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DIR=${MUTUAL_LOCALSTRIPE_DIR:-$ROOT/.cache/localstripe}
PORT=${MUTUAL_LOCALSTRIPE_PORT:-57080}
WAIT=${MUTUAL_LOCALSTRIPE_WAIT:-60}
PYTHON=${PYTHON:-python3}
HOST=127.0.0.1
VERSION=1.15.10
VENV=$DIR/venv
BIN=$DIR/bin/localstripe
LOGS=$DIR/logs
PIDFILE=$DIR/localstripe.pid

die() { echo "localstripe.sh: $*" >&2; exit 1; }

# The state directory holds the environment and the logs: keep it out of
# version control.
ensure_dir() {
	mkdir -p "$DIR" "$LOGS"
	local top=$ROOT/.cache
	if [[ "$DIR" == "$top"/* && ! -e "$top/.gitignore" ]]; then
		printf '*\n' >"$top/.gitignore"
	fi
}

fetch() {
	ensure_dir
	# The version file names the install; another version installs again.
	if [[ -x $BIN && $(cat "$VENV/.version" 2>/dev/null) == "$VERSION" ]]; then return 0; fi
	command -v "$PYTHON" >/dev/null 2>&1 || die "$PYTHON not found: localstripe needs Python 3 (apt-get install python3 python3-venv)"
	echo "localstripe.sh: installing localstripe $VERSION into $VENV" >&2
	rm -rf "$VENV"
	if ! "$PYTHON" -m venv "$VENV" >"$LOGS/install.log" 2>&1; then
		tail -n 30 "$LOGS/install.log" >&2
		die "$PYTHON -m venv failed (on Debian: apt-get install python3-venv; log in $LOGS/install.log)"
	fi
	if ! "$VENV/bin/python" -m pip install --disable-pip-version-check -q "localstripe==$VERSION" >>"$LOGS/install.log" 2>&1; then
		tail -n 30 "$LOGS/install.log" >&2
		die "pip install localstripe==$VERSION failed (log in $LOGS/install.log)"
	fi
	[[ -x $VENV/bin/localstripe ]] || die "localstripe was installed but $VENV/bin/localstripe is not there"
	launcher
	echo "$VERSION" >"$VENV/.version"
}

# launcher writes the command the tests run: localstripe's server on
# 127.0.0.1 only (localstripe itself listens on every interface), its
# objects in memory only (localstripe writes them to
# /tmp/localstripe.pickle after every change, one file for every server
# on the machine, while the tests each start theirs from scratch). It
# takes localstripe's own arguments, --port and --from-scratch.
launcher() {
	mkdir -p "$DIR/bin"
	{
		printf '#!%s\n' "$VENV/bin/python"
		cat <<'PY'
"""localstripe on 127.0.0.1, its objects in memory only."""
import argparse
import logging

from aiohttp import web

from localstripe.resources import store
from localstripe.server import app

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--port", type=int, default=8420)
parser.add_argument("--from-scratch", action="store_true",
                    help="always so: nothing is loaded or saved")
args = parser.parse_args()

store.dump_to_disk = lambda: None
logger = logging.getLogger("aiohttp.access")
logger.setLevel(logging.DEBUG)
logger.addHandler(logging.StreamHandler())
web.run_app(app, host="127.0.0.1", port=args.port, access_log=logger)
PY
	} >"$BIN.tmp"
	chmod +x "$BIN.tmp"
	mv "$BIN.tmp" "$BIN"
}

pid() {
	[[ -f "$PIDFILE" ]] || return 1
	local p
	p=$(cat "$PIDFILE")
	[[ -n "$p" ]] && kill -0 "$p" 2>/dev/null && grep -q localstripe "/proc/$p/cmdline" 2>/dev/null || return 1
	echo "$p"
}

port_open() { (exec 3<>"/dev/tcp/$HOST/$PORT") 2>/dev/null; }

# answers asks for the list of customers, in plain bash: any HTTP answer
# means the server is up.
answers() {
	local line
	line=$(
		exec 2>/dev/null 3<>"/dev/tcp/$HOST/$PORT" || exit 1
		printf 'GET /v1/customers HTTP/1.0\r\nHost: %s:%s\r\nAuthorization: Bearer sk_test_up\r\n\r\n' "$HOST" "$PORT" >&3
		timeout 5 head -n 1 <&3
	) || return 1
	[[ $line == HTTP/* ]]
}

start() {
	if p=$(pid); then
		echo "localstripe.sh: already running (pid $p) on $HOST:$PORT" >&2
		return 0
	fi
	if port_open; then die "port $PORT is in use by another process; set MUTUAL_LOCALSTRIPE_PORT"; fi
	fetch
	setsid nohup "$BIN" --port "$PORT" --from-scratch >"$LOGS/server.log" 2>&1 </dev/null &
	local p=$!
	echo "$p" >"$PIDFILE"
	local deadline=$((SECONDS + WAIT))
	until answers; do
		if ! kill -0 "$p" 2>/dev/null; then
			rm -f "$PIDFILE"
			tail -n 30 "$LOGS/server.log" >&2 || true
			die "localstripe exited during start (log in $LOGS/server.log)"
		fi
		if ((SECONDS >= deadline)); then
			stop >/dev/null 2>&1 || true
			die "localstripe not answering after ${WAIT}s (log in $LOGS/server.log)"
		fi
		sleep 0.2
	done
	echo "localstripe.sh: running (pid $p) on $HOST:$PORT" >&2
}

stop() {
	local p
	if ! p=$(pid); then
		rm -f "$PIDFILE"
		echo "localstripe.sh: not running" >&2
		return 0
	fi
	kill -TERM "$p" 2>/dev/null || true
	local deadline=$((SECONDS + 30))
	while kill -0 "$p" 2>/dev/null; do
		if ((SECONDS >= deadline)); then
			kill -KILL "$p" 2>/dev/null || true
		fi
		sleep 0.2
	done
	rm -f "$PIDFILE"
	echo "localstripe.sh: stopped" >&2
}

status() {
	local p
	if p=$(pid); then
		echo "running $p http://$HOST:$PORT"
	else
		echo "stopped"
		return 1
	fi
}

case "${1:-}" in
fetch) fetch ;;
command)
	fetch
	echo "$BIN"
	;;
env)
	fetch
	printf 'export MUTUAL_TEST_LOCALSTRIPE=%q\n' "$BIN"
	;;
start) start ;;
stop) stop ;;
status) status ;;
url) echo "http://$HOST:$PORT" ;;
*)
	echo "usage: $0 fetch|command|env|start|stop|status|url" >&2
	exit 2
	;;
esac
