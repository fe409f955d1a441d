#!/usr/bin/env bash
# Runs a throwaway PostgreSQL server on 127.0.0.1 for development and tests,
# from Debian's postgresql package (installed with apt-get when missing).
# Trust authentication on loopback only: never expose it.
#
#   scripts/postgres.sh start    install if missing, init once, start, wait until ready, create the database
#   scripts/postgres.sh stop     stop the server (fast shutdown) and wait for it to exit
#   scripts/postgres.sh status   print "running PORT" or "stopped" (exit 1 when stopped)
#   scripts/postgres.sh url      print the connection URL of the test database
#   scripts/postgres.sh reset    stop and delete all data
#
# Environment (all optional):
#   MUTUAL_PG_DIR    state directory (default: <repo>/.cache/postgres, or
#                    /var/tmp/mutual-postgres-<checksum of the repo's path> when
#                    running as root in a checkout the postgres user cannot reach)
#   MUTUAL_PG_PORT   port (default 55432)
#   MUTUAL_PG_DB     database to create (default mutual_test)
#   MUTUAL_PG_WAIT   seconds to wait for start (default 60)
#
# When run as root the server runs as the "postgres" user (PostgreSQL
# refuses to run as root), which then owns the state directory.
#
# Typical test run:
#   scripts/postgres.sh start
#   MUTUAL_TEST_POSTGRES=$(scripts/postgres.sh url) go test -tags postgres ./relay/directory/postgres/...
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# others_can_reach reports whether every directory from / to $1 lets other
# users through (o+x): the server runs as the postgres user.
others_can_reach() {
	local d=$1 mode
	while [[ -n $d && $d != / ]]; do
		mode=$(stat -c %a "$d" 2>/dev/null) || return 1
		((8#$mode & 1)) || return 1
		d=$(dirname "$d")
	done
}

# The state lives in the checkout, unless the checkout is where the
# postgres user cannot go (a clone under root's home, say): then in a
# directory of its own under /var/tmp, named after the checkout.
DIR=${MUTUAL_PG_DIR:-$ROOT/.cache/postgres}
if [[ -z ${MUTUAL_PG_DIR:-} && $(id -u) -eq 0 ]] && ! others_can_reach "$ROOT"; then
	DIR=/var/tmp/mutual-postgres-$(printf '%s' "$ROOT" | cksum | cut -d' ' -f1)
fi
PORT=${MUTUAL_PG_PORT:-55432}
DB=${MUTUAL_PG_DB:-mutual_test}
WAIT=${MUTUAL_PG_WAIT:-60}
HOST=127.0.0.1
SUPERUSER=postgres
DATA=$DIR/data
LOG=$DIR/postgres.log

die() { echo "postgres.sh: $*" >&2; exit 1; }

# bindir finds the newest installed server, installing it when missing.
bindir() {
	local b
	b=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
	if [[ -z "$b" || ! -x "$b/postgres" ]]; then
		[[ $(id -u) -eq 0 ]] || die "PostgreSQL is not installed; as root run: apt-get update && apt-get install -y postgresql"
		echo "postgres.sh: installing postgresql" >&2
		DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
		b=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
		[[ -n "$b" && -x "$b/postgres" ]] || die "postgresql installed but no server found under /usr/lib/postgresql"
	fi
	echo "$b"
}

# as_owner runs a command as the user that owns the server: postgres when
# we are root, ourselves otherwise.
as_owner() {
	if [[ $(id -u) -eq 0 ]]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

running() {
	[[ -f "$DATA/postmaster.pid" ]] || return 1
	local pid
	pid=$(head -n 1 "$DATA/postmaster.pid")
	[[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null
}

url() {
	echo "postgres://$SUPERUSER@$HOST:$PORT/$DB?sslmode=disable"
}

# The state directory holds the data: keep it out of version control.
ensure_dir() {
	mkdir -p "$DIR"
	local top=$ROOT/.cache
	if [[ "$DIR" == "$top"/* && ! -e "$top/.gitignore" ]]; then
		printf '*\n' >"$top/.gitignore"
	fi
	if [[ $(id -u) -eq 0 ]]; then
		id postgres >/dev/null 2>&1 || die "no postgres user (is the postgresql package installed?)"
		chown postgres: "$DIR"
		chmod 700 "$DIR"
		# The server must be able to reach its directory.
		runuser -u postgres -- test -x "$DIR" || die "user postgres cannot reach $DIR; set MUTUAL_PG_DIR to a directory it can reach"
	fi
}

init_cluster() {
	local bin=$1
	[[ -f "$DATA/PG_VERSION" ]] && return 0
	echo "postgres.sh: initialising $DATA" >&2
	as_owner "$bin/initdb" -D "$DATA" -U "$SUPERUSER" --auth-local=trust --auth-host=trust \
		--encoding=UTF8 --locale=C.UTF-8 >"$DIR/initdb.log" 2>&1 ||
		{ cat "$DIR/initdb.log" >&2; die "initdb failed"; }
	as_owner tee -a "$DATA/postgresql.conf" >/dev/null <<-EOF
		# scripts/postgres.sh: a throwaway server for tests
		listen_addresses = '$HOST'
		unix_socket_directories = '$DIR'
		max_connections = 200
		logging_collector = off
	EOF
}

start() {
	local bin
	bin=$(bindir)
	ensure_dir
	init_cluster "$bin"
	if running; then
		echo "postgres.sh: already running on $HOST:$PORT" >&2
	else
		if (exec 3<>"/dev/tcp/$HOST/$PORT") 2>/dev/null; then
			die "port $PORT is taken by another program; set MUTUAL_PG_PORT"
		fi
		as_owner "$bin/pg_ctl" -D "$DATA" -l "$LOG" -o "-p $PORT" -w -t "$WAIT" start >/dev/null ||
			{ tail -n 20 "$LOG" >&2 || true; die "server did not start"; }
	fi
	local deadline=$((SECONDS + WAIT))
	until "$bin/pg_isready" -q -h "$HOST" -p "$PORT"; do
		((SECONDS < deadline)) || die "server not accepting connections after ${WAIT}s (see $LOG)"
		sleep 0.2
	done
	local exists
	exists=$("$bin/psql" -h "$HOST" -p "$PORT" -U "$SUPERUSER" -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB'")
	if [[ "$exists" != 1 ]]; then
		"$bin/createdb" -h "$HOST" -p "$PORT" -U "$SUPERUSER" "$DB"
	fi
	echo "postgres.sh: ready at $(url)" >&2
}

stop() {
	running || { echo "postgres.sh: not running" >&2; return 0; }
	local bin
	bin=$(bindir)
	as_owner "$bin/pg_ctl" -D "$DATA" -m fast -w -t "$WAIT" stop >/dev/null
}

case "${1:-}" in
start) start ;;
stop) stop ;;
status)
	if running; then echo "running $PORT"; else echo stopped; exit 1; fi
	;;
url) url ;;
reset)
	stop
	rm -rf "$DIR"
	;;
*)
	echo "usage: $0 start|stop|status|url|reset" >&2
	exit 2
	;;
esac
