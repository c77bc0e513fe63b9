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
[ -d node_modules/html-validate ] && [ -d node_modules/lighthouse ] && [ -d node_modules/vnu-jar ] \
  || npm ci --no-fund --no-audit --loglevel=error
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

step "Nu HTML checker (vnu-jar): every page of the demo"
vnu() { java -jar "$root/node_modules/vnu-jar/build/dist/vnu.jar" --errors-only --skip-non-html "$@"; }
if vnu "$site"; then ok "vnu: 0 errors on every demo page"; else bad "vnu: demo pages"; fi

step "generated 20- and 500-component sites: vnu, Lighthouse (mobile, desktop), bytes, DOM"
bin="${UPSTATE_BIN:-$root/target/debug/upstate}"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 -m http.server "$port" --bind 127.0.0.1 --directory "$root/scripts/demo-www" >/dev/null 2>&1 &
target_pid=$!
trap 'kill $target_pid 2>/dev/null || true' EXIT
for n in 20 500; do
  gen="$root/target/validate-sites/c$n"
  rm -rf "$gen"
  # Every 37th component probes a closed port (down); 90 days of synthetic history.
  python3 "$root/scripts/gen_site.py" "$gen" --incidents 40 --components "$n" --down-every 37 \
    --history-days 90 --target "127.0.0.1:$port" >/dev/null
  (cd "$gen" && "$bin" run -c upstate.toml >/dev/null 2>&1) || true
  [ -f "$gen/public/index.html" ] || { bad "$n-component site built nothing"; continue; }
  if [ "$n" = 20 ]; then
    if vnu "$gen/public"; then ok "vnu: 0 errors on every page of the 20-component site"; else bad "vnu: 20-component site"; fi
    budget_kb=14
  else
    if vnu "$gen/public/index.html"; then ok "vnu: 0 errors on the 500-component front page"; else bad "vnu: 500-component front page"; fi
    budget_kb=40
  fi
  if CHROME_PATH=/usr/bin/chromium node "$root/scripts/lighthouse.mjs" "$gen/public" "$budget_kb" 2500 "$n components"; then
    ok "Lighthouse $n components: 100/100/100, performance >= 95, <= $budget_kb KB, DOM <= 2500"
  else bad "Lighthouse $n components"; fi
done

echo "validate: $passed passed, $failed failed"
[ "$failed" = 0 ]
