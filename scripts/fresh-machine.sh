#!/usr/bin/env bash
# Proves that `make test` passes on a fresh machine with only the README's
# prerequisites (Go, Java 17 with Maven, Node.js, root for apt-get): it
# removes everything `make test` installs or fetches — Debian's Chromium,
# the PostgreSQL server, Python's venv module, the Kafka jars (Maven's
# local repository), the Go build and module caches and the S3 server built
# from them (versitygw, in .cache), localstripe and pip's cache, the npm
# web-push package (in .cache) — then runs
# `make test` in a clean clone of the current commit.
#
#   make test-fresh            # the same as scripts/fresh-machine.sh --yes
#   scripts/fresh-machine.sh --yes
#
# Destructive by design: it purges packages and empties caches that other
# work on this machine may use, so it asks for --yes. Needs root.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
say() { echo "fresh-machine.sh: $*" >&2; }

if [[ ${1:-} != --yes ]]; then
	echo "usage: scripts/fresh-machine.sh --yes   (purges Chromium, PostgreSQL and Python's venv, empties the Go, Maven and pip caches and removes the S3 server build and localstripe)" >&2
	exit 2
fi
[[ $(id -u) == 0 ]] || { say "needs root (it removes Debian packages)"; exit 1; }

# Stop anything a previous run left, so that its files can go.
"$ROOT/scripts/kafka.sh" stop >/dev/null 2>&1 || true
"$ROOT/scripts/postgres.sh" stop >/dev/null 2>&1 || true
"$ROOT/scripts/versitygw.sh" stop >/dev/null 2>&1 || true

export DEBIAN_FRONTEND=noninteractive
remove=()
for p in chromium chromium-common chromium-sandbox postgresql $(dpkg-query -W -f='${Package}\n' 'postgresql-[0-9]*' 'python3*-venv' 2>/dev/null); do
	if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
		remove+=("$p")
	fi
done
if ((${#remove[@]})); then
	say "purging ${remove[*]}"
	apt-get purge -y -qq "${remove[@]}" >&2
fi
rm -rf /var/lib/postgresql

say "emptying the Go build and module caches and Maven's local repository"
go clean -cache -modcache
rm -rf "$(go env GOCACHE)" "${HOME}/.m2/repository" "$ROOT/.cache/versitygw" "$ROOT/.cache/localstripe" "$ROOT/.cache/webpush" "${HOME}/.cache/pip"

[[ ! -x /usr/bin/chromium ]] || { say "chromium is still installed"; exit 1; }
if ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
	say "a PostgreSQL server is still installed"
	exit 1
fi

work=$(mktemp -d /tmp/mutual-fresh.XXXXXX)
say "cloning $(git -C "$ROOT" rev-parse --short HEAD) into $work"
git clone -q "$ROOT" "$work/mutual"
git -C "$work/mutual" checkout -q "$(git -C "$ROOT" rev-parse HEAD)"
cd "$work/mutual"
start=$(date +%s)
status=0
make test || status=$?
say "make test exited $status after $(($(date +%s) - start)) s in $work/mutual"
exit $status
