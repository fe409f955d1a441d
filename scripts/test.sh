#!/usr/bin/env bash
# Installs what the tests need (scripts/deps.sh test, before any suite runs)
# and runs every test of Mutual: the Go packages (with the race detector),
# the crypto tests under js/wasm, the IndexedDB store and the web app end to
# end in headless Chromium, the interoperability tests against an
# independent Signal implementation (a nested module), and the cluster
# backends against a real PostgreSQL server and a real Apache Kafka broker,
# which this script starts and stops, then a cluster of the real binary (two
# gateways, two routers) on both. An S3 server (versitygw) runs throughout:
# the blob store's S3 backend and the cluster's attachments are tested on it.
# The co-op's Stripe tests each start their own localstripe (a fake Stripe).
#
# Environment:
#   MUTUAL_TEST_SERVICES=0   skip the PostgreSQL and Kafka suites (a quick run)
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
export GOFLAGS=${GOFLAGS:-}

failed=()
step() { echo; echo "=== $*"; }
run() {
	local name=$1
	shift
	step "$name"
	if ! "$@"; then
		failed+=("$name")
	fi
}

step "installing what the tests need"
if ! scripts/deps.sh test; then
	echo "FAILED: scripts/deps.sh could not install what the tests need (see above)"
	exit 1
fi

services=${MUTUAL_TEST_SERVICES:-1}
log_dir=$ROOT/.cache/test-logs
mkdir -p "$log_dir"

# The broker takes a while to fetch and start: begin now, in parallel with
# the Go tests, and wait for it when its suite comes.
kafka_pid=
if [[ $services == 1 ]]; then
	step "starting PostgreSQL and Kafka (logs in .cache/test-logs)"
	scripts/kafka.sh start >"$log_dir/kafka-start.log" 2>&1 &
	kafka_pid=$!
	if ! scripts/postgres.sh start >"$log_dir/postgres-start.log" 2>&1; then
		cat "$log_dir/postgres-start.log"
		failed+=("postgres start")
	fi
fi
# The S3 server starts in seconds; the Go tests wait for it below.
step "starting the S3 server (log in .cache/test-logs)"
scripts/versitygw.sh start >"$log_dir/versitygw-start.log" 2>&1 &
s3_pid=$!
cleanup() {
	[[ -n $s3_pid ]] && wait "$s3_pid" 2>/dev/null
	scripts/versitygw.sh stop >/dev/null 2>&1
	if [[ $services == 1 ]]; then
		[[ -n $kafka_pid ]] && wait "$kafka_pid" 2>/dev/null
		scripts/kafka.sh stop >/dev/null 2>&1
		scripts/postgres.sh stop >/dev/null 2>&1
	fi
}
trap cleanup EXIT

run "lint" make -s lint
# The S3 tests read MUTUAL_TEST_S3_ENDPOINT and its keys; without them they skip,
# so a server that did not start fails the run here.
if wait "$s3_pid"; then
	eval "$(scripts/versitygw.sh env)"
else
	cat "$log_dir/versitygw-start.log"
	failed+=("versitygw start")
fi
s3_pid=
# The Stripe tests read MUTUAL_TEST_LOCALSTRIPE (the localstripe command,
# which each test starts on a port of its own); without it they skip.
if ls_env=$(scripts/localstripe.sh env); then
	eval "$ls_env"
else
	failed+=("localstripe")
fi
run "go test -race ./..." go test -race -count=1 -timeout 15m ./...
run "js/wasm: crypto in Node, the IndexedDB store in Chromium" scripts/test-wasm.sh -count=1
run "web app end to end in headless Chromium" go test -count=1 -timeout 25m -tags browser ./internal/browsertest
if [[ -f crypto/interop/go.mod ]]; then
	run "interop with go.mau.fi/libsignal" bash -c 'cd crypto/interop && go test -race -count=1 ./...'
fi

if [[ $services == 1 ]]; then
	if ! grep -q "postgres start" <<<"${failed[*]:-}"; then
		run "directory on PostgreSQL" env MUTUAL_TEST_POSTGRES="$(scripts/postgres.sh url)" \
			go test -race -count=1 -tags postgres ./relay/directory/postgres/...
	fi
	step "waiting for Kafka"
	if wait "$kafka_pid"; then
		kafka_pid=
		run "bus on Kafka" env MUTUAL_TEST_KAFKA="$(scripts/kafka.sh bootstrap)" \
			go test -race -count=1 -tags kafka ./relay/bus/kafka/...
		if ! grep -q "postgres start" <<<"${failed[*]:-}"; then
			run "cluster: gateways and routers on Kafka and PostgreSQL" env \
				MUTUAL_TEST_KAFKA="$(scripts/kafka.sh bootstrap)" MUTUAL_TEST_POSTGRES="$(scripts/postgres.sh url)" \
				go test -race -count=1 -tags cluster -run Cluster ./relay/server/
		fi
	else
		kafka_pid=
		cat "$log_dir/kafka-start.log"
		failed+=("kafka start")
	fi
fi

echo
if ((${#failed[@]})); then
	echo "FAILED: ${failed[*]}"
	exit 1
fi
echo "all test suites passed"
