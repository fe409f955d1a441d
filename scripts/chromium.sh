#!/usr/bin/env bash
# Makes sure Debian's Chromium is installed for the browser tests (the
# IndexedDB store under js/wasm and the web app end to end), installing it
# with apt-get when it is missing. Prints its path.
#
#   scripts/chromium.sh        # install if needed, print the path
set -euo pipefail

chromium=${MUTUAL_CHROMIUM:-/usr/bin/chromium}
if [[ -x $chromium ]]; then
	echo "$chromium"
	exit 0
fi

apt=(apt-get)
if [[ $(id -u) != 0 ]]; then
	if ! command -v sudo >/dev/null 2>&1; then
		echo "chromium.sh: $chromium is missing and installing it needs root (apt-get install chromium)" >&2
		exit 1
	fi
	apt=(sudo apt-get)
fi
echo "chromium.sh: installing chromium with apt-get" >&2
export DEBIAN_FRONTEND=noninteractive
"${apt[@]}" update -qq >&2
"${apt[@]}" install -y -qq --no-install-recommends chromium fonts-dejavu-core >&2
if [[ ! -x $chromium ]]; then
	echo "chromium.sh: apt-get installed chromium but $chromium is not there" >&2
	exit 1
fi
echo "$chromium"
