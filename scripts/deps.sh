#!/usr/bin/env bash
# Installs what Mutual's builds and tests need, before any of them runs, and
# says exactly what is missing when it cannot install it. `make run` calls
# `scripts/deps.sh run`, `make test` calls `scripts/deps.sh test`.
#
#   scripts/deps.sh run     Go (checked) and the Go modules: enough to build and start the relay
#   scripts/deps.sh test    the above, then Node.js (checked), Debian's Chromium and fonts, the
#                           PostgreSQL server, systemd-analyze (Debian's systemd, to verify the
#                           units in deploy/), Java 17 and Maven (checked), the Kafka jars from
#                           Maven Central, the interoperability module's Go modules, the
#                           S3 server of the blob store's tests (versitygw, built with go install),
#                           the fake Stripe of the co-op's tests (localstripe, with pip) and the
#                           npm web-push package the Web Push tests check the relay against
#                           (scripts/webpush/, with npm ci into .cache/webpush)
#   scripts/deps.sh chromium  install Chromium if it is missing and print its path
#   scripts/deps.sh check   report what is present and missing, install nothing (exit 1 if anything is missing)
#
# Debian packages are installed with apt-get, which needs root (or sudo).
# Each install step is idempotent: a second run installs nothing.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

die() { echo "deps.sh: $*" >&2; exit 1; }
say() { echo "deps.sh: $*" >&2; }

# The Debian packages each part needs: the browser tests need Chromium and a
# font to render text; the directory's tests need the PostgreSQL server.
chromium_pkgs=(chromium fonts-dejavu-core)
postgres_pkgs=(postgresql)
# The deployment tests check the systemd units with systemd-analyze.
systemd_pkgs=(systemd)
# localstripe installs with pip into a virtual environment.
python_pkgs=(python3 python3-venv)

apt_updated=
apt_install() {
	local apt=(apt-get)
	if [[ $(id -u) != 0 ]]; then
		command -v sudo >/dev/null 2>&1 || die "installing $* needs root: run as root, or apt-get install -y $*"
		apt=(sudo apt-get)
	fi
	command -v apt-get >/dev/null 2>&1 || die "no apt-get on this machine: install $* with its package manager"
	export DEBIAN_FRONTEND=noninteractive
	if [[ -z $apt_updated ]]; then
		say "apt-get update"
		"${apt[@]}" update -qq >&2
		apt_updated=1
	fi
	say "apt-get install $*"
	"${apt[@]}" install -y -qq --no-install-recommends "$@" >&2
}

# go_ok checks that the Go on PATH is at least the go.mod's version.
go_ok() {
	command -v go >/dev/null 2>&1 || die "go not found: install Go $(want_go) or newer from https://go.dev/dl/"
	local have want
	have=$(go env GOVERSION | sed 's/^go//')
	want=$(want_go)
	if [[ $(printf '%s\n%s\n' "$want" "$have" | sort -V | head -n 1) != "$want" ]]; then
		die "go $have found, Mutual needs $want or newer (https://go.dev/dl/)"
	fi
}
want_go() { awk '$1 == "go" {print $2; exit}' go.mod; }

modules() {
	say "Go modules"
	go mod download
	if [[ -f crypto/interop/go.mod ]]; then
		(cd crypto/interop && go mod download)
	fi
}

node_ok() {
	command -v node >/dev/null 2>&1 || die "node not found: the WebAssembly crypto tests run in Node.js (apt-get install nodejs)"
}

chromium_path() {
	local c=${MUTUAL_CHROMIUM:-/usr/bin/chromium}
	[[ -x $c ]] && echo "$c"
}
chromium() {
	if [[ -z $(chromium_path) ]] || ! fc-list 2>/dev/null | grep -qi dejavu; then
		apt_install "${chromium_pkgs[@]}"
	fi
	[[ -n $(chromium_path) ]] || die "chromium was installed but ${MUTUAL_CHROMIUM:-/usr/bin/chromium} is not there"
}

postgres_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
postgres() {
	local b
	b=$(postgres_bin)
	if [[ -z $b || ! -x $b/postgres ]]; then
		apt_install "${postgres_pkgs[@]}"
		b=$(postgres_bin)
		[[ -n $b && -x $b/postgres ]] || die "postgresql was installed but no server is under /usr/lib/postgresql"
	fi
}

systemd_analyze() {
	command -v systemd-analyze >/dev/null 2>&1 || apt_install "${systemd_pkgs[@]}"
	command -v systemd-analyze >/dev/null 2>&1 || die "systemd was installed but systemd-analyze is not on PATH"
}

kafka() {
	command -v java >/dev/null 2>&1 || die "java not found: the Kafka broker needs Java 17 or newer (apt-get install openjdk-17-jre-headless)"
	command -v mvn >/dev/null 2>&1 || die "mvn not found: the Kafka jars come from Maven Central through Maven (apt-get install maven)"
	say "Kafka jars"
	scripts/kafka.sh fetch
}

# The blob store's S3 tests run against versitygw, built from its Go module
# once into .cache (about 2 minutes on 2 cores).
versitygw() {
	say "versitygw (S3 server)"
	scripts/versitygw.sh fetch
}

# The co-op's Stripe tests run against localstripe, installed from PyPI
# into a virtual environment under .cache.
python_ok() { command -v python3 >/dev/null 2>&1 && python3 -c 'import venv, ensurepip' >/dev/null 2>&1; }
localstripe() {
	python_ok || apt_install "${python_pkgs[@]}"
	python_ok || die "python3 with its venv module is needed for localstripe (apt-get install python3 python3-venv)"
	say "localstripe (fake Stripe)"
	scripts/localstripe.sh fetch
}

# The Web Push tests (relay/push) check the relay's pushes against the
# npm web-push package, pinned in scripts/webpush/ and installed with
# `npm ci` under .cache/webpush, again when the lock file changes.
webpush() {
	command -v npm >/dev/null 2>&1 || die "npm not found: the Web Push tests need the npm web-push package (apt-get install npm)"
	local dir=.cache/webpush
	if cmp -s scripts/webpush/package-lock.json "$dir/package-lock.json" && [[ -d $dir/node_modules/web-push ]]; then
		return 0
	fi
	say "web-push (npm)"
	mkdir -p "$dir"
	[[ -e .cache/.gitignore ]] || printf '*\n' >.cache/.gitignore
	cp scripts/webpush/package.json scripts/webpush/package-lock.json "$dir/"
	(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) >&2
}

case ${1:-} in
run)
	go_ok
	modules
	;;
test)
	go_ok
	node_ok
	chromium
	postgres
	systemd_analyze
	modules
	kafka
	versitygw
	localstripe
	webpush
	say "everything the tests need is installed"
	;;
chromium)
	chromium
	chromium_path
	;;
check)
	# report evaluates its second argument as a command line.
	report() { if eval "$2" >/dev/null 2>&1; then echo "ok       $1"; else echo "missing  $1"; missing=1; fi; }
	missing=0
	report "go $(want_go)+" 'command -v go'
	report "node" 'command -v node'
	report "chromium" chromium_path
	b=$(postgres_bin)
	report "postgresql server" "test -n '$b' && test -x '$b/postgres'"
	report "systemd-analyze" 'command -v systemd-analyze'
	report "java" 'command -v java'
	report "mvn" 'command -v mvn'
	report "versitygw (scripts/versitygw.sh fetch)" 'test -x .cache/versitygw/bin/versitygw'
	report "python3 with venv" python_ok
	report "localstripe (scripts/localstripe.sh fetch)" 'test -x .cache/localstripe/bin/localstripe'
	report "web-push (npm, in .cache/webpush)" 'test -d .cache/webpush/node_modules/web-push'
	exit $missing
	;;
*)
	echo "usage: scripts/deps.sh run|test|check" >&2
	exit 2
	;;
esac
