#!/usr/bin/env bash
# Upstate's benchmarks, printed as one table. Release build; every figure measured in this run.
#   scripts/bench.sh           full run (10,000 incidents, 10,000 probe targets, 7 days of raw history)
#   scripts/bench.sh --quick   smaller sizes, under 3 minutes
#   CSTATE_DIR=path scripts/bench.sh --peers
#                              also builds the same incidents with cState (Hugo theme) from a local
#                              checkout of github.com/cstate/cstate (this machine reaches no GitHub,
#                              so the checkout is brought by hand); Hugo from Debian (apt-get install
#                              hugo). cState runs up to PEERS_MAX incidents (default 1000).
# Wall times and peak memory come from GNU time; sizes from du and gzip -9.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
quick=0; peers=0
for a in "$@"; do case "$a" in --quick) quick=1;; --peers) peers=1;; esac; done
work=$(mktemp -d); trap 'kill ${server_pid:-} ${hang_pid:-} 2>/dev/null || true; rm -rf "$work"' EXIT

if [ $peers = 1 ] && ! command -v hugo >/dev/null; then
  echo "installing hugo (Debian)"; { [ "$(id -u)" = 0 ] && apt-get install -y -qq hugo >/dev/null; } || echo "hugo could not be installed; cState is skipped"
fi
cargo build --release --quiet --bin upstate --example bench_server --example bench_history
bin="$root/target/release/upstate"
rows=()
row() { rows+=("$(printf '| %s | %s | %s |' "$1" "$2" "$3")"); }
# timed CMD...: sets $secs and $peak_mb. The figures are time's last line: a command that exits
# non-zero (a probe round where every target hangs) gets a "Command exited with ..." line first.
timed() { /usr/bin/time -f '%e %M' -o "$work/time" "$@" >/dev/null 2>"$work/err" || true; read -r secs kb < <(tail -n 1 "$work/time"); peak_mb=$((kb / 1024)); }

if [ $quick = 1 ]; then sizes="100 1000"; targets="1000"; raw_days=1; else sizes="100 1000 10000"; targets="1000 10000"; raw_days=7; fi

# (0) the disk-write floor, measured now: 10,000 small files (a fresh folder, 4 KB each)
mkdir -p "$work/floor"
timed python3 -c "
import sys
for i in range(10000):
    open(f'$work/floor/f{i}.html', 'w').write('x' * 4000)
"
row "floor: writing 10,000 small files on this disk, now" "${secs} s" "anchor: about 0.4 s on a fresh machine"
floor=$secs
# Nothing the benchmark made is deleted before the end (the trap removes $work): on a file
# system without a journal (this machine's ext4), creating files within a few minutes of
# deleting thousands is several times slower (the kernel skips recently freed inodes one by
# one), so a deletion here would be timed as part of the next build. What is out of the way
# is moved into $work/aside instead.
aside() { mkdir -p "$work/aside"; for p in "$@"; do [ -e "$p" ] && mv "$p" "$(mktemp -u "$work/aside/XXXXXX")"; done; return 0; }
# Seconds as a multiple of the floor measured in this run.
ratio() { python3 -c "print(f'{$1/max($floor,0.001):.2f}')"; }
declare -A cold first same state edit
aside "$work/floor"

# (1) build time over N incidents x S components
for s in 20 200; do for n in $sizes; do
  site="$work/site-$n-$s"; extra=(); [ $peers = 1 ] && extra=(--cstate "$work/cstate-issues-$n-$s")
  python3 scripts/gen_site.py "$site" --incidents "$n" --components "$s" "${extra[@]}"
  # One run first, so history has every component's state (all down: the targets refuse), then
  # the output folder is moved aside so the timed build is cold (as on a fresh runner).
  "$bin" run --config "$site/upstate.toml" >/dev/null 2>&1 || true
  aside "$site/.upstate/site" "$site/public"
  timed "$bin" build --config "$site/upstate.toml"
  ours=$secs; ours_mb=$peak_mb
  peer="not run"
  if [ $peers = 1 ]; then
    if [ "$n" -gt "${PEERS_MAX:-1000}" ]; then
      peer="not run (cState needs 30-70 min here at 10,000; PEERS_MAX=$n to include it)"
    elif [ -n "${CSTATE_DIR:-}" ] && command -v hugo >/dev/null; then
      cs="$work/cstate-$n-$s"; mkdir -p "$cs/themes"; cp -r "$CSTATE_DIR/exampleSite/." "$cs/" 2>/dev/null || true
      cp -r "$CSTATE_DIR" "$cs/themes/cstate"
      rm -rf "$cs/content/issues"; cp -r "$work/cstate-issues-$n-$s/content/issues" "$cs/content/issues"
      # Hugo stops a partial after 30 s by default; cState's yearly incident list can take
      # longer at 10,000 incidents on a busy 2-core machine, and a build that stopped measures
      # nothing.
      printf '\ntimeout: 7200s\n' >> "$cs/config.yml"
      python3 - "$cs/config.yml" "$s" <<'PY'
import sys
path, s = sys.argv[1], int(sys.argv[2])
lines = open(path).read().split("\n")
def replace(key, body):
    global lines
    start = next(i for i, l in enumerate(lines) if l.rstrip() == f"  {key}:")
    end = start + 1
    while end < len(lines) and (lines[end].startswith("    ") or not lines[end].strip()):
        end += 1
    lines = lines[:start] + [f"  {key}:"] + body + lines[end:]
replace("systems", [f"    - name: Service {i}\n      category: Group {i % 10}" for i in range(s)])
replace("categories", [f"    - name: Group {i}" for i in range(10)])
open(path, "w").write("\n".join(lines))
PY
      timed hugo --source "$cs" --destination "$work/cstate-out-$n-$s" --quiet
      [ -f "$work/cstate-out-$n-$s/index.html" ] || { echo "cState build failed:"; cat "$work/err"; exit 1; }
      peer="${secs} s, ${peak_mb} MB (cState is $(python3 -c "print(f'{$secs/max($ours,0.001):.0f}')")× slower)"
    else
      peer="skipped: set CSTATE_DIR to a cState checkout and apt-get install hugo"
    fi
  fi
  row "build: $n incidents × $s components" "${ours} s, ${ours_mb} MB peak ($(ratio "$ours")× floor)" "$peer"
  cold[$n-$s]="$ours s ($(ratio "$ours")×)"
  # The first build into a new folder cannot keep parsed incidents yet (the folder is marked as
  # upstate's during it): the build after it parses again and fills that cache.
  timed "$bin" build --config "$site/upstate.toml"
  first[$n-$s]="$secs s ($(ratio "$secs")×)"
  # What a scheduled run pays: the same site built again; only pages whose inputs changed are
  # rendered, only changed bytes written (the build folder's .upstate-cache/ remembers).
  timed "$bin" build --config "$site/upstate.toml"
  same[$n-$s]="$secs s ($(ratio "$secs")×), ${peak_mb} MB"
  # One component changes state: history's memory.json says so, as after a run.
  python3 - "$site/.upstate/history/memory.json" <<'PY'
import json, sys
path = sys.argv[1]
doc = json.load(open(path))
comps = doc["components"]
first = sorted(comps)[0]
flip = {"major_outage": "operational"}
for key in ("last_state", "last_probed_state"):
    if comps[first].get(key) is not None:
        comps[first][key] = flip.get(comps[first][key], "major_outage")
json.dump(doc, open(path, "w"))
PY
  timed "$bin" build --config "$site/upstate.toml"
  state[$n-$s]="$secs s ($(ratio "$secs")×), ${peak_mb} MB"
  # One incident's text edited.
  incident_files=("$site"/incidents/*.md)
  [ -f "${incident_files[0]}" ] && printf '\nEdited for the benchmark.\n' >> "${incident_files[0]}"
  timed "$bin" build --config "$site/upstate.toml"
  edit[$n-$s]="$secs s ($(ratio "$secs")×), ${peak_mb} MB"
done; done
for s in 20 200; do for n in $sizes; do
  row "incremental: $n incidents × $s components: cold / first rebuild / nothing changed / one state change / one incident edited" \
    "${cold[$n-$s]} / ${first[$n-$s]} / ${same[$n-$s]} / ${state[$n-$s]} / ${edit[$n-$s]}" "(×: ratio to the floor row)"
done; done

# (2) a probe round over loopback HTTP targets
"$root/target/release/examples/bench_server" 0 > "$work/port" &
server_pid=$!
for _ in $(seq 50); do [ -s "$work/port" ] && break; sleep 0.1; done
port=$(cat "$work/port")
for t in $targets; do
  site="$work/probe-$t"; python3 scripts/gen_site.py "$site" --incidents 0 --components "$t" --kind http --target "127.0.0.1:$port" --timeout 2s --concurrency 256
  timed "$bin" probe --json --config "$site/upstate.toml"
  row "probe round: $t healthy loopback HTTP targets (deadline 2 s, concurrency 256)" "${secs} s, ${peak_mb} MB peak" "Upptime: sequential, 30 s + 60 s timeouts each; Gatus: 3 at once"
done
# every target of the contract config hanging
hang="$work/hang"; mkdir -p "$hang"
# A server that accepts every connection and never says a word (each held for a minute).
python3 scripts/hang_server.py > "$hang/port" &
hang_pid=$!
for _ in $(seq 50); do [ -s "$hang/port" ] && break; sleep 0.1; done
hport=$(cat "$hang/port")
cat > "$hang/upstate.toml" <<EOF2
[run]
timeout = "2s"
[[component]]
id = "http"
label = "HTTP"
kind = "http"
url = "http://127.0.0.1:$hport/"
[[component]]
id = "tcp-ok"
label = "TCP"
kind = "tcp"
address = "127.0.0.1:$hport"
[[component]]
id = "pg"
label = "PostgreSQL"
kind = "postgres"
dsn = "postgres://u:p@127.0.0.1:$hport/db"
[[component]]
id = "redis"
label = "Redis"
kind = "redis"
url = "redis://127.0.0.1:$hport"
[[component]]
id = "tls"
label = "TLS"
kind = "tls"
address = "127.0.0.1:$hport"
[[component]]
id = "ws"
label = "WebSocket"
kind = "websocket"
url = "ws://127.0.0.1:$hport/"
[[component]]
id = "hb"
label = "Heartbeat"
kind = "heartbeat"
source = "redis://127.0.0.1:$hport"
key = "k"
max_age = "60s"
down_after = "90s"
[[component]]
id = "workers"
label = "Workers"
kind = "workers"
source = "redis://127.0.0.1:$hport"
heartbeat_keys = "w:*"
max_age = "60s"
down_after = "5m"
[[component]]
id = "dns"
label = "DNS"
kind = "dns"
name = "example.com"
resolver = "127.0.0.1:$hport"
EOF2
timed "$bin" probe --json --config "$hang/upstate.toml"
row "probe round: 9 kinds, every target hanging (deadline 2 s)" "${secs} s (slowest deadline 2 s)" "—"

# (2b) a whole scheduled run: 2,000 components, a third of them hanging, probe + history + render
run2k="$work/run-2000"
python3 scripts/gen_site.py "$run2k" --incidents 0 --components 2000 --kind http --target "127.0.0.1:$port" \
  --hang-every 3 --hang-target "127.0.0.1:$hport" --timeout 2s --concurrency 1000
timed "$bin" run --config "$run2k/upstate.toml"
first_run="${secs} s, ${peak_mb} MB peak"
timed "$bin" run --config "$run2k/upstate.toml"
row "upstate run: 2,000 components, a third hanging (deadline 2 s, concurrency 1,000): first / next run" "$first_run / ${secs} s, ${peak_mb} MB peak" "Gatus: 3 checks at once; Upptime: one after another"

# (3) first-visit bytes
for s in 20 200; do
  site="$work/site-100-$s"
  [ -d "$site" ] || python3 scripts/gen_site.py "$site" --incidents 100 --components "$s"
  "$bin" build --config "$site/upstate.toml" >/dev/null 2>&1 || true
  out="$site/.upstate/site"
  html=$(gzip -9c "$out/index.html" | wc -c)
  all=$(cat "$out/index.html" "$out/assets/js/app.js" "$out/favicon.svg" | gzip -9c | wc -c)
  row "first visit, $s components: HTML with inline CSS (gzip)" "$html B; with app.js and favicon $all B" "Upptime ~52 KB, Gatus ~182 KB before any status"
done

# (4) history: a year of one-minute runs
hist="$work/hist"; mkdir -p "$hist"
cp "$work/site-100-200/upstate.toml" "$hist/upstate.toml"
"$root/target/release/examples/bench_history" "$hist/.upstate/history" 200 "$raw_days"
daily=$(du -sb "$hist/.upstate/history/daily" | cut -f1); rawb=$(du -sb "$hist/.upstate/history/raw" | cut -f1)
timed "$bin" build --config "$hist/upstate.toml"
row "history: 365 days × 200 components, one-minute runs" "daily rollups $((daily / 1024 / 1024)) MB; raw ($raw_days d) $((rawb / 1024 / 1024)) MB" "—"
row "history: load + rollup + render of that store (upstate build)" "${secs} s, ${peak_mb} MB peak" "—"

# (5) a publish after one component changed
pub="$work/pub"; python3 scripts/gen_site.py "$pub" --incidents 100 --components 20 --kind http --target "127.0.0.1:$port"
"$bin" run --config "$pub/upstate.toml" >/dev/null
"$bin" run --config "$pub/upstate.toml" >/dev/null
sed -i '0,/url = "http:\/\/127.0.0.1:[0-9]*\/ok"/s//url = "http:\/\/127.0.0.1:1\/ok"/' "$pub/upstate.toml"
changed=$("$bin" run --json --config "$pub/upstate.toml" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["written"], "of", d["files"], "files")')
row "publish after one component changed (folder target)" "$changed written" "—"

echo
echo "Machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB; $(date -u +%Y-%m-%d)"
echo
echo "| benchmark | Upstate | peer / reference |"
echo "|---|---|---|"
printf '%s\n' "${rows[@]}"
