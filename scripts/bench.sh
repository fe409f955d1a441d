#!/usr/bin/env bash
# Runs Mutual's Go benchmarks and the load generator and prints the figures
# that docs/performance.md records. Expects bin/mutual (make bench builds it).
#
# Environment:
#   BENCH_CLIENTS, BENCH_MESSAGES   load generator size (default 1000, 100000)
#   BENCHTIME                       go test -benchtime (default 1s)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
echo
echo "=== Go benchmarks"
go test -run '^$' -bench . -benchmem -benchtime "${BENCHTIME:-1s}" \
	./relay/wire/ ./relay/bus/embedded/ ./relay/router/ ./crypto/...
if [[ -f crypto/interop/go.mod ]]; then
	echo
	echo "=== crypto next to go.mau.fi/libsignal"
	(cd crypto/interop && go test -run '^$' -bench . -benchmem -benchtime "${BENCHTIME:-1s}" ./...)
fi
echo
echo "=== load generator"
bin/mutual bench --clients "${BENCH_CLIENTS:-1000}" --messages "${BENCH_MESSAGES:-100000}"
echo
echo "=== groups: 1,000 accounts with 2 devices each, in groups of 10, 100 and 1,000"
go test -run '^$' -bench GroupMessage -benchtime 50x ./internal/loadgen/
# As fast as the relay answers (deliveries a second), then at a steady
# rate well below it (latency of each message to every device).
for size in 10 100 1000; do
	echo "--- group size $size"
	bin/mutual bench --clients 1000 --devices 2 --group-size "$size" --messages $((200000 / size)) --opaque
	bin/mutual bench --clients 1000 --devices 2 --group-size "$size" --messages $((20000 / size)) --rate $((4000 / size)) --opaque
	bin/mutual bench --clients 1000 --devices 2 --group-size "$size" --messages $((20000 / size)) --rate $((4000 / size))
done
echo
echo "=== the co-op's yearly notice: distances over a million users with 50 contacts each"
go test -run '^$' -bench . -benchmem -benchtime 1x ./relay/coop/degrees/
