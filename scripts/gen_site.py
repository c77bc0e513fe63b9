"""Synthetic sites for benchmarks: N incidents over S components, realistic Markdown
postmortems and timelines, written both as an Upstate site and (with --cstate DIR) as cState
content, so both generators build the same text.

usage: gen_site.py OUT_DIR --incidents N --components S [--target HOST:PORT] [--timeout 2s]
                   [--cstate CSTATE_SITE_DIR]
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
a = p.parse_args()
rng = random.Random(42)
os.makedirs(os.path.join(a.out, "incidents"), exist_ok=True)

ids = [f"svc-{i:04d}" for i in range(a.components)]
with open(os.path.join(a.out, "upstate.toml"), "w") as f:
    f.write('[site]\ntitle = "Bench"\nbase_url = "https://status.bench"\n\n')
    f.write(f'[run]\nconcurrency = {a.concurrency}\ntimeout = "{a.timeout}"\n\n')
    for n, cid in enumerate(ids):
        f.write(f'[[component]]\nid = "{cid}"\nlabel = "Service {n}"\ngroup = "Group {n % 10}"\n')
        if a.kind == "http":
            f.write(f'kind = "http"\nurl = "http://{a.target}/ok"\n\n')
        else:
            f.write(f'kind = "tcp"\naddress = "{a.target}"\n\n')

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
