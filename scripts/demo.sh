#!/usr/bin/env bash
# Builds upstate and runs the demo site: real local PostgreSQL and Redis, a local HTTP endpoint this
# script starts, and services that are absent (a realtime heartbeat nobody writes, a WebSocket
# edge on a closed port) shown as down, honestly. Prints where the page is.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
demo="$root"   # the repository root is the demo site (upstate.toml, incidents/, content/)
cd "$root"

# UPSTATE_BIN: an upstate already installed (the scheduled workflow uses the release build).
if [ -n "${UPSTATE_BIN:-}" ]; then
  bin="$UPSTATE_BIN"
else
  echo "==> Building upstate (debug)…"
  cargo build --quiet --bin upstate
  bin="$root/target/debug/upstate"
fi

export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"
export DEMO_MEDIA_DIR="$demo/.upstate/media"
mkdir -p "$DEMO_MEDIA_DIR"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
export DEMO_HTTP_PORT=$(free_port)
export DEMO_CLOSED_PORT=$(free_port)   # nothing listens here: the WebSocket edge is absent
export DEMO_PAGER_PORT=$(free_port)    # a local stand-in for PagerDuty's Events API

python3 -m http.server "$DEMO_HTTP_PORT" --bind 127.0.0.1 --directory "$root/scripts/demo-www" >/dev/null 2>&1 &
http_pid=$!
# Prints every page it receives to pages.log and answers as PagerDuty does (202).
python3 - "$DEMO_PAGER_PORT" "$demo/.upstate/pages.log" <<'PY' >/dev/null 2>&1 &
import http.server, sys
port, log = int(sys.argv[1]), sys.argv[2]
class Pager(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        with open(log, "ab") as f:
            f.write(body + b"\n")
        self.send_response(202)
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"status":"success","message":"Event processed"}')
http.server.HTTPServer(("127.0.0.1", port), Pager).serve_forever()
PY
pager_pid=$!
trap 'kill $http_pid $pager_pid 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -fsS "http://127.0.0.1:$DEMO_HTTP_PORT/health" >/dev/null 2>&1 && break; sleep 0.1; done

# Demo data for the live-traffic counters, in its own schema of the local database.
if command -v psql >/dev/null && psql "$DATABASE_URL" -qc 'select 1' >/dev/null 2>&1; then
  PGOPTIONS='--client-min-messages=warning' psql "$DATABASE_URL" -q -v ON_ERROR_STOP=1 <<'SQL' >/dev/null
CREATE SCHEMA IF NOT EXISTS upstate_demo;
CREATE TABLE IF NOT EXISTS upstate_demo.sessions (device_id int, last_seen timestamptz);
CREATE TABLE IF NOT EXISTS upstate_demo.messages (created_at timestamptz);
CREATE TABLE IF NOT EXISTS upstate_demo.calls (started_at timestamptz);
TRUNCATE upstate_demo.sessions, upstate_demo.messages, upstate_demo.calls;
INSERT INTO upstate_demo.sessions SELECT d, now() - (d || ' minutes')::interval FROM generate_series(1, 40) d;
INSERT INTO upstate_demo.messages SELECT now() - (m || ' seconds')::interval FROM generate_series(1, 1234) m;
INSERT INTO upstate_demo.calls SELECT now() - (c || ' minutes')::interval FROM generate_series(1, 56) c;
SQL
else
  echo "    PostgreSQL is not reachable at $DATABASE_URL: it will show as down (install: apt-get install postgresql)."
fi

# The demo plays one background worker that reports a heartbeat; nobody plays the realtime
# service, so that tile is down with "No heartbeat seen yet."
if command -v redis-cli >/dev/null && redis-cli ping >/dev/null 2>&1; then
  redis-cli set upstate-demo:heartbeat:worker:push "$(date +%s)" >/dev/null
  redis-cli del upstate-demo:jobs:failed upstate-demo:heartbeat:realtime >/dev/null
else
  echo "    Redis is not reachable at 127.0.0.1:6379: it will show as down (install: apt-get install redis-server)."
fi

echo "==> upstate check"
"$bin" check -c "$demo/upstate.toml"
echo "==> upstate run"
set +e
"$bin" run -c "$demo/upstate.toml"
rc=$?
set -e
echo
if [ -s "$demo/.upstate/pages.log" ]; then
  echo "Pages sent to the local on-call receiver ($demo/.upstate/pages.log):"
  cat "$demo/.upstate/pages.log"
fi
echo "The page: $demo/public/index.html"
echo "Preview it over HTTP: python3 -m http.server -d $demo/public 8000  (then open http://127.0.0.1:8000/)"
exit $rc
