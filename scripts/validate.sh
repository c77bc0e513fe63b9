#!/usr/bin/env bash
# External validators nobody on the team wrote, run on a freshly built demo site:
#   html-validate (every page), feedparser (RSS/Atom), icalendar (iCal), check-jsonschema
#   (status.json against the contract), statuspage-prometheus-exporter (reads our Statuspage v2
#   API), and a headless Chromium run (axe-core accessibility, the poller, a screenshot).
# Installs what it needs: npm ci (lockfile), a Python venv under target/, Debian's chromium.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
site="$root/public"
passed=0; failed=0
step() { echo "==> validate: $1"; }
ok() { passed=$((passed+1)); echo "    ok: $1"; }
bad() { failed=$((failed+1)); echo "    FAILED: $1"; }

step "build the demo site (scripts/demo.sh)"
rm -rf "$root/.upstate" "$site"
bash scripts/demo.sh >/dev/null || { echo "demo.sh exited $?; continuing with what it published"; }
[ -f "$site/index.html" ] && ok "demo published" || { bad "demo published nothing"; exit 1; }

step "node tools (npm ci)"
[ -d node_modules/html-validate ] || npm ci --no-fund --no-audit --loglevel=error
if npx --no-install html-validate "$site/**/*.html"; then ok "html-validate: every page"; else bad "html-validate"; fi

step "python tools (venv in target/)"
venv="$root/target/validate-venv"
if [ ! -x "$venv/bin/python" ]; then python3 -m venv "$venv"; fi
"$venv/bin/pip" install -q --disable-pip-version-check feedparser==6.0.14 icalendar==7.3.0 check-jsonschema==0.39.0 statuspage-prometheus-exporter==2.6.0 >/dev/null
# Ours (the contract plus additive keys), then the seed contract itself with those keys taken out.
contract_view="$root/target/status.contract-view.json"
"$venv/bin/python" "$root/scripts/contract_view.py" \
  "$site/status.json" "$root/docs/status.schema.json" "$root/tests/fixtures/contracts/status.schema.json" "$contract_view"
if "$venv/bin/check-jsonschema" --schemafile "$root/docs/status.schema.json" "$site/status.json" \
  && "$venv/bin/check-jsonschema" --schemafile "$root/tests/fixtures/contracts/status.schema.json" "$contract_view"; then
  ok "check-jsonschema: status.json (ours, and the seed contract without the additive keys)"
else bad "check-jsonschema"; fi
# The Statuspage client writes a cache/ folder where it runs: it runs in target/, never in the tree.
mkdir -p "$root/target/validate-run"
if (cd "$root/target/validate-run" && "$venv/bin/python" "$root/scripts/validate_outputs.py" "$site"); then ok "feeds, iCal, Statuspage client"; else bad "feeds, iCal, Statuspage client"; fi

step "browser (Debian chromium + playwright-core + axe-core)"
if [ ! -x /usr/bin/chromium ]; then
  echo "    installing chromium (Debian package)"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO=sudo; fi
  $SUDO apt-get update -qq >/dev/null 2>&1 || true
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
if node scripts/browser-check.mjs "$site" "$root/target/screenshot.png"; then ok "axe-core, poller, screenshot"; else bad "browser check"; fi

echo "validate: $passed passed, $failed failed"
[ "$failed" = 0 ]
