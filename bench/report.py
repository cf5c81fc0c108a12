#!/usr/bin/env python3
"""Merges the files and database benchmark results into BENCHMARKS.md and one JSON file.

    report.py [--files FILES.json] [--db DB.json] [--run-meta META.jsonl] --md OUT.md --json OUT.json

FILES.json / DB.json: what files_bench.sh (files_report.py) and db_bench.py write: {"meta": {...},
"raw": [records]}, one record per measured operation and run:
  {"part": "files"|"db", "run": 1, "tool": "coffer", "op": "full", "wall": s, "user": s, "sys": s,
   "rss_kb": KiB, "size": bytes or null, "added": bytes or null}
META.jsonl: {"key": value} lines from bench/run.sh (machine, versions, total time).
Every figure is the median over runs with min and max; every coffer figure is also given as a
ratio to each peer that did the same operation, and the issue's targets are checked. The markdown
goes to stdout too. The helpers here (summarise, fmt_cell, ratios) are shared with
files_report.py and db_bench.py.
"""
import argparse
import json
import os
import statistics
import sys

# (key, label, how to turn a raw record into the figure)
METRICS = [
    ("wall", "wall s", lambda r: r["wall"]),
    ("cpu", "CPU s (user+sys)", lambda r: r["user"] + r["sys"]),
    ("rss", "peak RSS MiB", lambda r: r["rss_kb"] / 1024),
    ("size", "repo/output MiB", lambda r: None if r.get("size") is None else r["size"] / 2**20),
    ("added", "added MiB", lambda r: None if r.get("added") is None else r["added"] / 2**20),
]
METRIC_LABELS = {k: label for k, label, _ in METRICS}

PARTS = {
    "files": {
        "title": "File trees",
        "tools": ["coffer", "restic", "borg", "tar+zstd", "tar+gzip"],
        "ops": [("init", "init"), ("full", "full backup"), ("incremental", "incremental after mutate"),
                ("nochange", "no-change incremental"), ("restore", "restore latest")],
    },
    "db": {
        "title": "Database",
        "tools": ["coffer", "pg_dump -Fc", "pg_dump -Fc -Z0", "pg_dump (plain)", "pg_dump | gzip",
                  "pg_dump | restic", "pg_restore -j2"],
        "ops": [("full", "full backup"), ("incremental", "incremental after one day"),
                ("nochange", "no-change incremental"), ("restore", "restore latest")],
    },
}
TOOL_NOTES = {
    "tar+zstd": "`tar | zstd -3 -T0`",
    "tar+gzip": "`tar | gzip` (level 6)",
    "pg_dump -Fc": "`pg_dump -Fc > /dev/null` (custom format, default compression: what users run)",
    "pg_dump -Fc -Z0": "`pg_dump -Fc -Z0 > /dev/null` (custom format, uncompressed: the raw-dump floor; "
                       "coffer runs this same dump and stores its stream)",
    "pg_dump (plain)": "`pg_dump > /dev/null` (plain SQL)",
    "pg_dump | gzip": "`pg_dump | gzip > file` (plain SQL, gzip -6)",
    "pg_dump | restic": "`pg_dump | restic backup --stdin` (plain SQL)",
    "pg_restore -j2": "`createdb && pg_restore -j2` from a local `pg_dump -Fc` file of the same day",
}


def load_jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def summarise(raw, tools=None, ops=None):
    """{(tool, op): {metric: {"median", "min", "max", "values"}}} over the runs of each pair."""
    out = {}
    pairs = sorted({(r["tool"], r["op"]) for r in raw})
    for tool, op in pairs:
        if (tools and tool not in tools) or (ops and op not in ops):
            continue
        rows = sorted((r for r in raw if r["tool"] == tool and r["op"] == op), key=lambda r: r["run"])
        cell = {}
        for key, _, get in METRICS:
            values = [get(r) for r in rows]
            if any(v is None for v in values):
                continue
            cell[key] = {"median": statistics.median(values), "min": min(values), "max": max(values),
                         "values": values}
        out[(tool, op)] = cell
    return out


def fmt(x):
    if x is None:
        return ""
    if x == 0:
        return "0"
    if abs(x) < 0.01:
        return "%.2g" % x
    if abs(x) >= 100:
        return "%.0f" % x
    if abs(x) >= 10:
        return "%.1f" % x
    return "%.2f" % x


def fmt_cell(stat):
    if stat is None:
        return "–"
    if fmt(stat["min"]) == fmt(stat["max"]):
        return fmt(stat["median"])
    return "%s (%s–%s)" % (fmt(stat["median"]), fmt(stat["min"]), fmt(stat["max"]))


def ratios(summary, ops, peers):
    """coffer median / peer median for every operation and metric both have."""
    out = []
    for op, _ in ops:
        mine = summary.get(("coffer", op))
        if not mine:
            continue
        for key, _, _ in METRICS:
            if key not in mine or (key == "size" and op in ("incremental", "nochange")):
                continue  # after an incremental the repo size says little; "added" is the figure
            row = {"op": op, "metric": key}
            for peer in peers:
                theirs = summary.get((peer, op), {}).get(key)
                if theirs and theirs["median"] > 0:
                    row[peer] = mine[key]["median"] / theirs["median"]
            if len(row) > 2:
                out.append(row)
    return out


def md_cell(text):
    """Text for a markdown table cell: a | inside would end the cell."""
    return str(text).replace("|", "\\|")


def figure_table(summary, tools, ops):
    lines = ["| tool | operation | " + " | ".join(label for _, label, _ in METRICS) + " |",
             "|" + "---|" * (2 + len(METRICS))]
    for op, label in ops:
        for tool in tools:
            figures = summary.get((tool, op))
            if figures is not None:
                lines.append("| %s | %s | %s |" % (md_cell(tool), label,
                                                    " | ".join(fmt_cell(figures.get(k)) for k, _, _ in METRICS)))
    return lines


def ratio_table(ratio_rows, ops, peers):
    peers = [p for p in peers if any(p in r for r in ratio_rows)]
    if not peers:
        return []
    labels = dict(ops)
    lines = ["| operation | metric | " + " | ".join(md_cell("coffer / " + p) for p in peers) + " |",
             "|" + "---|" * (2 + len(peers))]
    for r in ratio_rows:
        lines.append("| %s | %s | %s |" % (labels[r["op"]], METRIC_LABELS[r["metric"]],
                                            " | ".join("%.2f" % r[p] if p in r else "–" for p in peers)))
    return lines


# ---------------------------------------------------------------- the targets

def _median(summary, tool, op, metric):
    return summary.get((tool, op), {}).get(metric, {}).get("median")


def _ratio_target(target, part_summary, op, metric, peer, limit, strict=False):
    mine = _median(part_summary, "coffer", op, metric)
    theirs = _median(part_summary, peer, op, metric)
    unit = "s" if metric == "wall" else "MiB"
    if mine is None or theirs is None or theirs <= 0:
        return {"target": target, "measured": None, "limit": limit, "met": None,
                "detail": "not measured (%s or %s missing)" % ("coffer", peer)}
    value = mine / theirs
    met = value < limit if strict else value <= limit
    return {"target": target, "measured": value, "limit": limit, "met": met, "strict": strict,
            "detail": "%.2f× (coffer %s %s, %s %s %s)" % (value, fmt(mine), unit, peer, fmt(theirs), unit)}


def targets(files, db):
    """The issue's targets, each: {"target", "measured", "limit", "met", "detail"}."""
    out = []
    if files is not None:
        out.append(_ratio_target("files full backup wall ≤ 0.25× restic", files, "full", "wall", "restic", 0.25))
        out.append(_ratio_target("files full backup faster than tar | zstd -3 -T0", files, "full", "wall",
                                 "tar+zstd", 1.0, strict=True))
        out.append(_ratio_target("files incremental wall ≤ 0.3× restic", files, "incremental", "wall", "restic", 0.3))
        out.append(_ratio_target("files incremental adds no more bytes than restic", files, "incremental", "added",
                                 "restic", 1.0))
        nochange = _median(files, "coffer", "nochange", "wall")
        out.append({"target": "files no-change incremental < 0.3 s", "measured": nochange, "limit": 0.3,
                    "absolute": True, "met": None if nochange is None else nochange < 0.3,
                    "detail": "not measured" if nochange is None else "%s s" % fmt(nochange)})
        out.append(_ratio_target("files restore wall ≤ 0.4× restic", files, "restore", "wall", "restic", 0.4))
    if db is not None:
        # The peer is plain `pg_dump > /dev/null`; the ratio table shows the custom-format dumps too.
        out.append(_ratio_target("database full backup wall ≤ 1.1× `pg_dump > /dev/null` (plain SQL)", db, "full",
                                 "wall", "pg_dump (plain)", 1.1))
        added = _median(db, "coffer", "incremental", "added")
        full = _median(db, "coffer", "full", "size")
        if added is None or not full:
            out.append({"target": "database incremental adds ≤ 5% of the full backup's stored bytes",
                        "measured": None, "limit": 0.05, "met": None, "detail": "not measured"})
        else:
            share = added / full
            out.append({"target": "database incremental adds ≤ 5% of the full backup's stored bytes",
                        "measured": share, "limit": 0.05, "met": share <= 0.05, "percent": True,
                        "detail": "%.1f%% (%s MiB added, full repository %s MiB)" % (share * 100, fmt(added), fmt(full))})
        out.append(_ratio_target("database incremental adds ≤ 0.1× what `pg_dump | restic --stdin` adds", db,
                                 "incremental", "added", "pg_dump | restic", 0.1))
        out.append(_ratio_target("database restore wall ≤ 1.05× `pg_restore -j2`", db, "restore", "wall",
                                 "pg_restore -j2", 1.05))
    # Peak memory: every operation coffer and restic both did; the worst one decides.
    worst = None
    for part, summary, peer in (("files", files, "restic"), ("db", db, "pg_dump | restic")):
        if summary is None:
            continue
        for (tool, op), cell in summary.items():
            if tool != "coffer" or "rss" not in cell or op == "init":
                continue
            theirs = _median(summary, peer, op, "rss")
            if theirs:
                value = cell["rss"]["median"] / theirs
                if worst is None or value > worst[0]:
                    worst = (value, part, op, cell["rss"]["median"], theirs, peer)
    if worst is None:
        out.append({"target": "peak memory ≤ restic's", "measured": None, "limit": 1.0, "met": None,
                    "detail": "not measured"})
    else:
        value, part, op, mine, theirs, peer = worst
        out.append({"target": "peak memory ≤ restic's (every operation both did; the worst shown)",
                    "measured": value, "limit": 1.0, "met": value <= 1.0,
                    "detail": "%.2f× in %s %s (coffer %s MiB, %s %s MiB)" % (value, part, op, fmt(mine), peer,
                                                                           fmt(theirs))})
    return out


def status(t):
    if t["met"] is None:
        return "not measured"
    if t["met"]:
        return "met"
    if t.get("absolute"):
        return "missed by %s s" % fmt(t["measured"] - t["limit"])
    if t.get("percent"):
        return "missed by %.1f points" % ((t["measured"] - t["limit"]) * 100)
    over = t["measured"] / t["limit"]
    return "missed: %.2f× the limit (+%.0f%%)" % (over, (over - 1) * 100)


def limit_text(t):
    if t.get("absolute"):
        return "< %s s" % fmt(t["limit"])
    if t.get("percent"):
        return "≤ %.0f%%" % (t["limit"] * 100)
    return "%s %.2f×" % ("<" if t.get("strict") else "≤", t["limit"])


# ---------------------------------------------------------------- markdown

def part_section(name, doc):
    spec = PARTS[name]
    raw = doc["raw"]
    summary = summarise(raw, spec["tools"])
    peers = [t for t in spec["tools"] if t != "coffer"]
    rows = ratios(summary, spec["ops"], peers)
    lines = ["## %s" % spec["title"], ""]
    m = doc["meta"]
    if name == "files":
        lines.append("Workload: %s: %s files, %.1f MiB; after one mutate %s files, %.1f MiB." % (
            m.get("workload"), m.get("files_before"), int(m.get("bytes_before", 0)) / 2**20,
            m.get("files_after"), int(m.get("bytes_after", 0)) / 2**20))
    else:
        lines.append("Workload: %s." % m.get("workload"))
    lines.append("Source: %s." % m.get("workload_source", "?"))
    if m.get("settings"):
        lines.append("Settings: %s." % m["settings"])
    used = [t for t in spec["tools"] if any(k[0] == t for k in summary) and t in TOOL_NOTES]
    if used:
        lines.append("Peers: " + "; ".join("%s = %s" % (t, TOOL_NOTES[t]) for t in used) + ".")
    if m.get("verified"):
        lines.append("Restores checked (run 1): %s." % m["verified"])
    lines += [""] + figure_table(summary, spec["tools"], spec["ops"]) + [""]
    table = ratio_table(rows, spec["ops"], peers)
    if table:
        lines += ["coffer as a ratio to each peer that did the same operation (coffer median / peer median; "
                  "below 1 means coffer is faster, leaner or smaller):", ""] + table + [""]
    if m.get("notes"):
        lines += ["Notes: " + m["notes"], ""]
    return lines, summary, rows, m


def machine_lines(meta):
    versions = ", ".join("%s %s" % (k, meta["version_" + k]) for k in
                         ["restic", "borg", "postgresql", "zstd", "gzip", "tar"] if ("version_" + k) in meta)
    lines = ["- %s cores, %s, %s RAM, kernel %s; scratch space %s on %s." % (
        meta.get("nproc"), meta.get("cpu"), meta.get("memory"), meta.get("kernel"), meta.get("work_dir"),
        meta.get("filesystem")),
        "- coffer %s." % meta.get("version_coffer", "?")]
    if versions:
        lines.append("- Peers: %s." % versions)
    if meta.get("cache"):
        lines.append("- Page cache: %s." % meta["cache"])
    if meta.get("load_before"):
        lines.append("- Load average (1, 5, 15 min) at the start: %s; at the end: %s." % (
            meta["load_before"], meta.get("load_after", "?")))
    if meta.get("cpu_steal"):
        lines.append("- CPU steal over the run (time the hypervisor gave other guests): %s of all CPU time. Every "
                     "tool's figures include it, so compare ratios within one run, not figures across runs." %
                     meta["cpu_steal"])
    return lines


def markdown(run_meta, parts, target_rows):
    m = run_meta
    lines = ["# coffer benchmarks", "",
             "Measured by `bench/run.sh%s` on %s: coffer next to the tools users would pick instead, on the same "
             "data in the same run. Every figure is the median of %s runs, (min–max) when they differ; "
             "the whole run took %s." % (m.get("command_args", ""), m.get("date", "?"), m.get("runs", "?"),
                                         m.get("elapsed", "?")), ""]
    if m.get("failed"):
        lines += ["**Failed parts: %s; their figures are missing or incomplete (see the run's log).**" % m["failed"], ""]
    for name in ("files", "db"):
        source = parts[name][3].get("workload_source", "") if name in parts else ""
        if source.startswith("NOT"):
            lines += ["**%s: %s.**" % (PARTS[name]["title"], source), ""]
    if m.get("quick"):
        lines += ["**Smoke run (`--quick`): tiny workload, the figures say nothing about speed.**", ""]
    lines += ["## Machine", ""] + machine_lines(m) + [""]
    lines += ["## Targets (issue 7)", "",
              "| target | limit | measured | status |", "|---|---|---|---|"]
    for t in target_rows:
        lines.append("| %s | %s | %s | %s |" % (md_cell(t["target"]), limit_text(t), md_cell(t["detail"]), status(t)))
    lines.append("")
    bounds = os.path.join(os.path.dirname(os.path.abspath(__file__)), "missed_targets.md")
    if os.path.exists(bounds) and not m.get("quick"):
        with open(bounds) as f:
            lines += ["## What bounds the missed targets", "", f.read().rstrip(), ""]
    for name in ("files", "db"):
        if name in parts:
            lines += parts[name][0]
    lines += ["How to reproduce: `bench/run.sh` (about 13 minutes on 2 idle cores once coffer is built; "
              "`--quick` for a smoke run, `--runs N`, `--help`). Every run's raw figures: `%s`." % m.get(
                  "json_path", "bench/results/all-<date>.json"), ""]
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--files")
    ap.add_argument("--db")
    ap.add_argument("--run-meta")
    ap.add_argument("--md", required=True)
    ap.add_argument("--json", required=True)
    a = ap.parse_args()
    run_meta = {}
    if a.run_meta:
        for item in load_jsonl(a.run_meta):
            run_meta.update(item)
    docs = {}
    for name, path in (("files", a.files), ("db", a.db)):
        if path:
            with open(path) as f:
                docs[name] = json.load(f)
    # Machine keys come from run.sh; a part's own meta fills what is missing (e.g. borg's version).
    for doc in docs.values():
        for k, v in doc["meta"].items():
            if k.startswith("version_") or k in ("nproc", "cpu", "memory", "kernel", "work_dir", "filesystem", "cache"):
                run_meta.setdefault(k, v)
    parts = {name: part_section(name, doc) for name, doc in docs.items()}
    target_rows = targets(parts["files"][1] if "files" in parts else None, parts["db"][1] if "db" in parts else None)
    text = markdown(run_meta, parts, target_rows)
    with open(a.md, "w") as f:
        f.write(text)
    out = {
        "meta": run_meta,
        "targets": [dict(t, status=status(t)) for t in target_rows],
        "parts": {name: {"meta": docs[name]["meta"],
                         "results": [{"tool": t, "op": o, **cell} for (t, o), cell in parts[name][1].items()],
                         "ratios": parts[name][2],
                         "raw": docs[name]["raw"]} for name in parts},
    }
    with open(a.json, "w") as f:
        json.dump(out, f, indent=2, ensure_ascii=False)
        f.write("\n")
    sys.stdout.write(text)


if __name__ == "__main__":
    main()
