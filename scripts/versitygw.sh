#!/usr/bin/env bash
# Runs a throwaway S3 server on 127.0.0.1 for development and tests: the
# Versity S3 Gateway (versitygw) serving a directory, built from its Go
# module with `go install` (no download other than the Go module proxy's).
# Random keys made on the first start: loopback only, never expose it.
#
#   scripts/versitygw.sh fetch    build versitygw into the state directory if missing (~2 min on 2 cores)
#   scripts/versitygw.sh start    fetch if missing, start, wait until it answers
#   scripts/versitygw.sh stop     stop the server and wait for it to exit
#   scripts/versitygw.sh status   print "running PID ADDRESS" or "stopped" (exit 1 when stopped)
#   scripts/versitygw.sh env      print the MUTUAL_TEST_S3_* variables the tests read, as shell exports
#   scripts/versitygw.sh reset    stop and delete all data (buckets, objects, keys)
#
# Environment (all optional):
#   MUTUAL_VERSITYGW_DIR    state directory (default: <repo>/.cache/versitygw)
#   MUTUAL_VERSITYGW_PORT   port (default 57070)
#   MUTUAL_VERSITYGW_WAIT   seconds to wait for start (default 60)
#
# Typical test run:
#   scripts/versitygw.sh start
#   eval "$(scripts/versitygw.sh env)"
#   go test ./relay/blob/s3blob/
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DIR=${MUTUAL_VERSITYGW_DIR:-$ROOT/.cache/versitygw}
PORT=${MUTUAL_VERSITYGW_PORT:-57070}
WAIT=${MUTUAL_VERSITYGW_WAIT:-60}
HOST=127.0.0.1
VERSION=v1.8.0
MODULE=github.com/versity/versitygw/cmd/versitygw
BIN=$DIR/bin/versitygw
DATA=$DIR/data
LOGS=$DIR/logs
KEYS=$DIR/keys
PIDFILE=$DIR/versitygw.pid

die() { echo "versitygw.sh: $*" >&2; exit 1; }

# The state directory holds the binary, the data and the keys: keep it out
# of version control.
ensure_dir() {
	mkdir -p "$DIR" "$LOGS"
	local top=$ROOT/.cache
	if [[ "$DIR" == "$top"/* && ! -e "$top/.gitignore" ]]; then
		printf '*\n' >"$top/.gitignore"
	fi
}

fetch() {
	ensure_dir
	# The version file names the build; another version builds again.
	if [[ -x $BIN && $(cat "$DIR/bin/.version" 2>/dev/null) == "$VERSION" ]]; then return 0; fi
	command -v go >/dev/null 2>&1 || die "go not found"
	echo "versitygw.sh: building versitygw $VERSION into $DIR/bin (about 2 minutes)" >&2
	# Outside any module, whatever GOFLAGS (-mod=...) the caller has.
	if ! (cd "$DIR" && env -u GOFLAGS GOWORK=off GOBIN="$DIR/bin" go install "$MODULE@$VERSION") >"$LOGS/build.log" 2>&1; then
		tail -n 30 "$LOGS/build.log" >&2
		die "go install $MODULE@$VERSION failed (log in $LOGS/build.log)"
	fi
	echo "$VERSION" >"$DIR/bin/.version"
}

# keys makes the server's access and secret keys once, and prints them on
# two lines.
keys() {
	ensure_dir
	if [[ ! -s $KEYS ]]; then
		(
			umask 077
			printf '%s\n%s\n' "mutual$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')" \
				"$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')" >"$KEYS.tmp"
		)
		mv "$KEYS.tmp" "$KEYS"
	fi
	cat "$KEYS"
}

pid() {
	[[ -f "$PIDFILE" ]] || return 1
	local p
	p=$(cat "$PIDFILE")
	[[ -n "$p" ]] && kill -0 "$p" 2>/dev/null && grep -q versitygw "/proc/$p/cmdline" 2>/dev/null || return 1
	echo "$p"
}

port_open() { (exec 3<>"/dev/tcp/$HOST/$PORT") 2>/dev/null; }

# healthy asks the server's health endpoint, in plain bash.
healthy() {
	local line
	line=$(
		exec 2>/dev/null 3<>"/dev/tcp/$HOST/$PORT" || exit 1
		printf 'GET /health HTTP/1.0\r\nHost: %s:%s\r\n\r\n' "$HOST" "$PORT" >&3
		timeout 5 head -n 1 <&3
	) || return 1
	[[ $line == *" 200 "* ]]
}

start() {
	if p=$(pid); then
		echo "versitygw.sh: already running (pid $p) on $HOST:$PORT" >&2
		return 0
	fi
	if port_open; then die "port $PORT is in use by another process; set MUTUAL_VERSITYGW_PORT"; fi
	fetch
	mkdir -p "$DATA"
	local access secret
	{ read -r access; read -r secret; } < <(keys)
	# The keys go through the environment, not the command line, which
	# every user of the machine can read.
	ROOT_ACCESS_KEY_ID=$access ROOT_SECRET_ACCESS_KEY=$secret setsid nohup "$BIN" \
		--port "$HOST:$PORT" --health /health --quiet \
		posix "$DATA" >"$LOGS/server.log" 2>&1 </dev/null &
	local p=$!
	echo "$p" >"$PIDFILE"
	local deadline=$((SECONDS + WAIT))
	until healthy; do
		if ! kill -0 "$p" 2>/dev/null; then
			rm -f "$PIDFILE"
			tail -n 30 "$LOGS/server.log" >&2 || true
			die "versitygw exited during start (log in $LOGS/server.log)"
		fi
		if ((SECONDS >= deadline)); then
			stop >/dev/null 2>&1 || true
			die "versitygw not answering after ${WAIT}s (log in $LOGS/server.log)"
		fi
		sleep 0.2
	done
	echo "versitygw.sh: running (pid $p) on $HOST:$PORT" >&2
}

stop() {
	local p
	if ! p=$(pid); then
		rm -f "$PIDFILE"
		echo "versitygw.sh: not running" >&2
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
	echo "versitygw.sh: stopped" >&2
}

status() {
	local p
	if p=$(pid); then
		echo "running $p $HOST:$PORT"
	else
		echo "stopped"
		return 1
	fi
}

env_vars() {
	local access secret
	{ read -r access; read -r secret; } < <(keys)
	printf 'export MUTUAL_TEST_S3_ENDPOINT=%q\n' "http://$HOST:$PORT"
	printf 'export MUTUAL_TEST_S3_ACCESS_KEY=%q\n' "$access"
	printf 'export MUTUAL_TEST_S3_SECRET_KEY=%q\n' "$secret"
}

case "${1:-}" in
fetch) fetch ;;
start) start ;;
stop) stop ;;
status) status ;;
env) env_vars ;;
reset)
	stop
	rm -rf "$DATA" "$LOGS" "$KEYS"
	;;
*)
	echo "usage: $0 fetch|start|stop|status|env|reset" >&2
	exit 2
	;;
esac
