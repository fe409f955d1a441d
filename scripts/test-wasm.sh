#!/bin/sh
# Runs tests under GOOS=js GOARCH=wasm, the way the client runs in a
# browser: the crypto packages in Node.js, then the packages that need a
# real browser (the IndexedDB store) in headless Chromium, through
# bin/wasmbrowser (built here from ./internal/wasmbrowser). Extra arguments
# go to both `go test` runs:
#
#   scripts/test-wasm.sh                       # all tests
#   scripts/test-wasm.sh -run XEdDSA           # some tests
#   scripts/test-wasm.sh -run '^$' -bench .    # benchmarks in wasm
#
# ./crypto/... does not descend into crypto/interop: it is a module of its
# own (it tests against an independent implementation with its own
# dependencies) and runs natively only.
#
# Needs Node.js on PATH (go_js_wasm_exec runs the test binary with it) and
# Chromium (/usr/bin/chromium, or WASMBROWSER_CHROMIUM); on a Debian or
# Ubuntu machine without it, the script installs the chromium package.
set -eu

cd "$(dirname "$0")/.."

exec_wrapper="$(go env GOROOT)/lib/wasm/go_js_wasm_exec"
if [ ! -x "$exec_wrapper" ]; then
	echo "test-wasm: $exec_wrapper not found (Go 1.24+ keeps it in lib/wasm)" >&2
	exit 1
fi
if ! command -v node >/dev/null 2>&1; then
	echo "test-wasm: node not found on PATH" >&2
	exit 1
fi

# Chromium, for the browser tests.
# Chromium runs the browser tests; install it when it is missing.
WASMBROWSER_CHROMIUM=${WASMBROWSER_CHROMIUM:-$(scripts/deps.sh chromium)} || exit 1
export WASMBROWSER_CHROMIUM

status=0

GOOS=js GOARCH=wasm go test -exec="$exec_wrapper" "$@" ./crypto/... || status=1

mkdir -p bin
go build -o bin/wasmbrowser ./internal/wasmbrowser
GOOS=js GOARCH=wasm go test -exec="$PWD/bin/wasmbrowser" "$@" ./app/store/idbstore || status=1

exit $status
