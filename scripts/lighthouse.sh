#!/usr/bin/env bash
# Audits the web app with Lighthouse in headless Chromium: accessibility,
# best practices and performance (mobile and desktop presets) with the
# current Lighthouse, and the PWA category with Lighthouse 11, its last
# release that has one. Both versions are pinned in scripts/lighthouse/
# and installed with `npm ci` under .cache/lighthouse.
#
#   make run &                                  # or any served app
#   scripts/lighthouse.sh http://127.0.0.1:8080/ .cache/lighthouse-report
#
# Writes OUTDIR/{mobile,desktop,pwa}.report.{json,html} and prints the
# scores. Needs Node.js 18.16 or later; installs Chromium when it is
# missing (scripts/deps.sh chromium).
set -euo pipefail

if [[ $# -ne 2 ]]; then
	echo "usage: $0 URL OUTDIR" >&2
	exit 2
fi
url=$1
out=$2

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export CHROME_PATH=${CHROME_PATH:-$("$root/scripts/deps.sh" chromium)}
flags="--headless=new --no-sandbox --disable-gpu --disable-background-networking --no-first-run"

# Install the pinned packages when the lock file changed since the last run.
modules=$root/.cache/lighthouse
mkdir -p "$modules" "$out"
if ! cmp -s "$root/scripts/lighthouse/package-lock.json" "$modules/package-lock.json" || [[ ! -d $modules/node_modules ]]; then
	cp "$root/scripts/lighthouse/package.json" "$root/scripts/lighthouse/package-lock.json" "$modules/"
	(cd "$modules" && npm ci --no-audit --no-fund --loglevel=error)
fi

run() { # name, lighthouse package, options...
	local name=$1 pkg=$2
	shift 2
	node "$modules/node_modules/$pkg/cli/index.js" "$url" \
		--chrome-flags="$flags" --quiet \
		--output=json --output=html --output-path="$out/$name" "$@"
}

run mobile lighthouse --only-categories=accessibility,best-practices,performance
run desktop lighthouse --only-categories=accessibility,best-practices,performance --preset=desktop
run pwa lighthouse-pwa --only-categories=pwa

# The scores, 0 to 100, and for the PWA category the audits that failed.
node - "$out" <<'EOF'
const fs = require("fs");
const path = require("path");
const out = process.argv[2];
for (const name of ["mobile", "desktop", "pwa"]) {
  const lhr = JSON.parse(fs.readFileSync(path.join(out, `${name}.report.json`), "utf8"));
  const scores = Object.values(lhr.categories)
    .map((c) => `${c.id} ${c.score === null ? "n/a" : Math.round(c.score * 100)}`);
  console.log(`${name.padEnd(8)} lighthouse ${lhr.lighthouseVersion}  ${scores.join("  ")}`);
  for (const c of Object.values(lhr.categories)) {
    for (const ref of c.auditRefs) {
      const a = lhr.audits[ref.id];
      if (ref.weight > 0 && a.score !== null && a.score < 0.9) {
        console.log(`         ${c.id}: ${a.id} ${Math.round(a.score * 100)} ${a.displayValue || ""}`);
      }
    }
  }
}
EOF
