"""Reads the built site with real third-party parsers: feedparser (RSS/Atom), icalendar (iCal),
and statuspage-prometheus-exporter (a Statuspage v2 API client) against a local HTTP server."""
import functools
import glob
import http.server
import json
import os
import sys
import threading

import feedparser
import icalendar

site = sys.argv[1]
failures = []

feeds = [os.path.join(site, "feed.rss"), os.path.join(site, "feed.atom")] + sorted(glob.glob(os.path.join(site, "feeds", "*")))
for path in feeds:
    parsed = feedparser.parse(path)
    want = "rss20" if path.endswith(".rss") else "atom10"
    if parsed.bozo or parsed.version != want:
        failures.append(f"{path}: bozo={parsed.bozo} version={parsed.version} {parsed.get('bozo_exception')}")
print(f"    feedparser: {len(feeds)} feeds parsed")

with open(os.path.join(site, "maintenance.ics"), "rb") as f:
    cal = icalendar.Calendar.from_ical(f.read())
events = 0
for component in cal.walk():
    if component.errors:
        failures.append(f"maintenance.ics {component.name}: {component.errors}")
    if component.name == "VEVENT":
        events += 1
        for key in ("UID", "DTSTART", "DTEND", "SUMMARY", "DTSTAMP"):
            if key not in component:
                failures.append(f"maintenance.ics: VEVENT without {key}")
print(f"    icalendar: {events} events, no component errors" if not failures else "    icalendar: errors")

class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


handler = functools.partial(Quiet, directory=site)
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
threading.Thread(target=server.serve_forever, daemon=True).start()
import logging

logging.disable(logging.WARNING)  # the client logs its own judgement of our data; we compare ours
from statuspage_prometheus_exporter import service_checker  # noqa: E402
url = f"http://127.0.0.1:{server.server_port}/api/v2/summary.json"
result = service_checker.check_status_page_service("demo", {"url": url})
summary = json.load(open(os.path.join(site, "api/v2/summary.json")))
if not result.get("success"):
    failures.append(f"statuspage client failed: {result}")
ours = {c["name"]: c["status"] for c in summary["components"]}
theirs = {c["name"]: c["status"] for c in result.get("component_metadata", [])}
if theirs != ours:
    failures.append(f"statuspage client saw {theirs}, we publish {ours}")
planned = {m["id"] for m in summary["scheduled_maintenances"]}
seen = {m["id"] for m in result.get("maintenance_metadata", [])}
if planned != seen:
    failures.append(f"statuspage client saw maintenances {seen}, we publish {planned}")
print(f"    statuspage client: {len(theirs)} components and {len(seen)} maintenances read as published")
server.shutdown()

for f in failures:
    print("    " + f)
sys.exit(1 if failures else 0)
