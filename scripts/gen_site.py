"""Synthetic sites for benchmarks: N incidents over S components, realistic Markdown
postmortems and timelines, written both as an Upstate site and (with --cstate DIR) as cState
content, so both generators build the same text.

usage: gen_site.py OUT_DIR --incidents N --components S [--target HOST:PORT] [--timeout 2s]
                   [--cstate CSTATE_SITE_DIR] [--down-every K] [--history-days D]
                   [--hang-every K --hang-target HOST:PORT]

--down-every K points every K-th component at a closed port (127.0.0.1:9), the rest at --target,
so a run sees a realistic few down. --hang-every K points every K-th component (counting from the
first) at --hang-target, a server that accepts and never answers. --history-days D writes D days of synthetic daily rollups
(seeded, mostly operational, some degraded or down hours) into .upstate/history/, so a build
shows full 90-day bars and latency charts, as a site that has run for months.
"""
import argparse
import datetime as dt
import os
import random

p = argparse.ArgumentParser()
p.add_argument("out")
p.add_argument("--incidents", type=int, default=100)
p.add_argument("--components", type=int, default=20)
p.add_argument("--target", default="127.0.0.1:9")
p.add_argument("--kind", default="tcp", choices=["tcp", "http"])
p.add_argument("--timeout", default="2s")
p.add_argument("--concurrency", type=int, default=64)
p.add_argument("--cstate")
p.add_argument("--down-every", type=int, default=0)
p.add_argument("--hang-every", type=int, default=0)
p.add_argument("--hang-target")
p.add_argument("--history-days", type=int, default=0)
a = p.parse_args()
rng = random.Random(42)
os.makedirs(os.path.join(a.out, "incidents"), exist_ok=True)

ids = [f"svc-{i:04d}" for i in range(a.components)]
with open(os.path.join(a.out, "upstate.toml"), "w") as f:
    f.write('[site]\ntitle = "Bench"\nbase_url = "https://status.bench"\n\n')
    f.write(f'[run]\nconcurrency = {a.concurrency}\ntimeout = "{a.timeout}"\n\n')
    for n, cid in enumerate(ids):
        f.write(f'[[component]]\nid = "{cid}"\nlabel = "Service {n}"\ngroup = "Group {n % 10}"\n')
        target = a.target
        if a.down_every and n % a.down_every == a.down_every - 1:
            target = "127.0.0.1:9"
        if a.hang_every and n % a.hang_every == 0:
            target = a.hang_target
        if a.kind == "http":
            f.write(f'kind = "http"\nurl = "http://{target}/ok"\n\n')
        else:
            f.write(f'kind = "tcp"\naddress = "{target}"\n\n')

words = ("database connection pool cache replica queue worker deploy region latency timeout "
         "certificate dns upstream retry backlog shard index disk memory network").split()


def sentence(k=12):
    return " ".join(rng.choice(words) for _ in range(k)).capitalize() + "."


start = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
if a.cstate:
    os.makedirs(os.path.join(a.cstate, "content", "issues"), exist_ok=True)
for i in range(a.incidents):
    t0 = start + dt.timedelta(minutes=rng.randrange(0, 60 * 24 * 700))
    t1 = t0 + dt.timedelta(minutes=rng.randrange(5, 300))
    comps = rng.sample(ids, k=min(len(ids), rng.randrange(1, 4)))
    sev = rng.choice(["minor", "major", "critical"])
    title = f"{sentence(4)[:-1]} #{i}"
    body = (f"## What happened\n{sentence(30)}\n\n## Root cause\n{sentence(40)}\n\n"
            f"## What we changed\n- {sentence(10)}\n- {sentence(10)}\n")
    iso = lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ")
    slug = f"{t0:%Y-%m-%d}-incident-{i}"
    with open(os.path.join(a.out, "incidents", slug + ".md"), "w") as f:
        f.write(f"---\ntitle: \"{title}\"\nseverity: {sev}\nstatus: resolved\ncomponents: [{', '.join(comps)}]\n")
        f.write(f"discovered_at: {iso(t0)}\nresolved_at: {iso(t1)}\nupdates:\n")
        f.write(f"  - at: {iso(t0)}\n    status: investigating\n    message: {sentence(15)}\n")
        f.write(f"  - at: {iso(t1)}\n    status: resolved\n    message: {sentence(12)}\n---\n\n{body}")
    if a.cstate:
        cseverity = {"minor": "notice", "major": "disrupted", "critical": "down"}[sev]
        affected = "".join(f"\n  - Service {ids.index(c)}" for c in comps)
        with open(os.path.join(a.cstate, "content", "issues", slug + ".md"), "w") as f:
            f.write(f"---\ntitle: \"{title}\"\ndate: {t0:%Y-%m-%d %H:%M:%S}\nresolved: true\n"
                    f"resolvedWhen: {t1:%Y-%m-%d %H:%M:%S}\nseverity: {cseverity}\naffected:{affected}\nsection: issue\n---\n\n{body}")


def write_history(out, days):
    """Daily rollups in the history store's format (src/history/rollup.rs, sketch.rs)."""
    import json
    import math
    hist = os.path.join(out, ".upstate", "history")
    os.makedirs(os.path.join(hist, "daily"), exist_ok=True)
    with open(os.path.join(hist, "FORMAT"), "w") as f:
        f.write('{"format":"upstate-history","version":1}')
    gamma = (1 + 0.01) / (1 - 0.01)
    today = dt.datetime.now(dt.timezone.utc).date()
    hrng = random.Random(7)
    base_ms = {cid: hrng.uniform(8, 120) for cid in ids}
    for back in range(days, 0, -1):
        day = today - dt.timedelta(days=back)
        comps = {}
        for cid in ids:
            seconds = {"operational": 86400.0}
            worst = "operational"
            roll = hrng.random()
            bad = None
            if roll < 0.015:
                bad = "major_outage"
            elif roll < 0.04:
                bad = "degraded_performance"
            elif roll < 0.05:
                bad = "partial_outage"
            if bad:
                lost = hrng.uniform(600, 4 * 3600)
                seconds = {"operational": 86400.0 - lost, bad: lost}
                worst = bad
            checks = 288
            ms = base_ms[cid] * hrng.uniform(0.8, 1.3)
            centre = math.ceil(math.log(ms) / math.log(gamma))
            counts = [hrng.randrange(5, 40) for _ in range(60)]
            comps[cid] = {"seconds": seconds, "checks": checks,
                          "failures": 0 if worst == "operational" else hrng.randrange(1, 20),
                          "latency": {"o": centre - 20, "c": counts}, "worst_seen": worst}
        with open(os.path.join(hist, "daily", f"{day:%Y-%m-%d}.json"), "w") as f:
            json.dump({"version": 1, "components": comps}, f)


if a.history_days:
    write_history(a.out, a.history_days)
