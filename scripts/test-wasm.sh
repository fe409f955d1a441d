#!/bin/sh
# Runs the crypto packages' tests under GOOS=js GOARCH=wasm in Node.js, the
# way the client runs them in a browser. Extra arguments go to `go test`:
#
#   scripts/test-wasm.sh                       # all tests
#   scripts/test-wasm.sh -run XEdDSA           # some tests
#   scripts/test-wasm.sh -run '^$' -bench .    # benchmarks in wasm
#
# ./crypto/... does not descend into crypto/interop: it is a module of its
# own (it tests against an independent implementation with its own
# dependencies) and runs natively only.
#
# Needs Node.js on PATH (go_js_wasm_exec runs the test binary with it).
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

GOOS=js GOARCH=wasm go test -exec="$exec_wrapper" "$@" ./crypto/...
