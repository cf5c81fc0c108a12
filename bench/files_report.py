#!/usr/bin/env python3
"""Turns the raw measurements of files_bench.sh into a markdown report and a JSON file.

    files_report.py RAW.jsonl META.jsonl OUT.md OUT.json

RAW.jsonl: one line per measured operation and run:
  {"run": 1, "tool": "coffer", "op": "full", "wall": s, "user": s, "sys": s,
   "rss_kb": KiB, "size": bytes or null, "added": bytes or null}
META.jsonl: one {"key": value} object per line (machine, versions, workload, settings).
The markdown goes to stdout too. Figures are the median over runs, with min and max.
"""
import json
import statistics
import sys

TOOLS = ["coffer", "restic", "borg", "tar+zstd", "tar+gzip"]
OPS = [  # (key, label)
    ("init", "init"),
    ("full", "full backup"),
    ("incremental", "incremental after mutate"),
    ("nochange", "no-change incremental"),
    ("restore", "restore latest"),
]
# (key, label, unit, how to turn a raw record into the figure)
METRICS = [
    ("wall", "wall s", lambda r: r["wall"]),
    ("cpu", "CPU s (user+sys)", lambda r: r["user"] + r["sys"]),
    ("rss", "peak RSS MiB", lambda r: r["rss_kb"] / 1024),
    ("size", "repo/output MiB", lambda r: None if r.get("size") is None else r["size"] / 2**20),
    ("added", "added MiB", lambda r: None if r.get("added") is None else r["added"] / 2**20),
]
PEERS = ["restic", "borg", "tar+zstd", "tar+gzip"]


def load_jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def summarise(raw):
    """{(tool, op): {metric: {"median", "min", "max", "values"}}}"""
    out = {}
    for tool in TOOLS:
        for op, _ in OPS:
            rows = sorted((r for r in raw if r["tool"] == tool and r["op"] == op), key=lambda r: r["run"])
            if not rows:
                continue
            cell = {}
            for key, _, get in METRICS:
                values = [get(r) for r in rows]
                if any(v is None for v in values):
                    continue
                cell[key] = {"median": statistics.median(values), "min": min(values),
                             "max": max(values), "values": values}
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


def ratios(summary):
    """coffer median / peer median for every operation and metric both have."""
    out = []
    for op, label in OPS:
        mine = summary.get(("coffer", op))
        if not mine:
            continue
        for key, mlabel, _ in METRICS:
            if key not in mine or (key == "size" and op in ("incremental", "nochange")):
                continue  # after an incremental the repo size says little; "added" is the figure
            row = {"op": op, "metric": key}
            for peer in PEERS:
                theirs = summary.get((peer, op), {}).get(key)
                if theirs and theirs["median"] > 0:
                    row[peer] = mine[key]["median"] / theirs["median"]
            if len(row) > 2:
                out.append(row)
    return out


def markdown(meta, summary, ratio_rows):
    m = meta
    lines = ["# coffer file-tree benchmark, %s" % m.get("date", "")]
    lines.append("")
    lines.append("Machine: %s cores, %s, %s RAM, kernel %s, %s on %s." % (
        m.get("nproc"), m.get("cpu"), m.get("memory"), m.get("kernel"), m.get("work_dir"), m.get("filesystem")))
    lines.append("")
    lines.append("Tools: " + ", ".join("%s %s" % (k, m.get("version_" + k, "?"))
                                       for k in ["coffer", "restic", "borg", "zstd", "gzip", "tar"]
                                       if ("version_" + k) in m) + ".")
    lines.append("")
    lines.append("Workload: %s (%s files, %.1f MiB; after one mutate %s files, %.1f MiB). "
                 "%s runs per operation, fresh repositories every run; page cache %s." % (
                     m.get("workload"), m.get("files_before"), int(m.get("bytes_before", 0)) / 2**20,
                     m.get("files_after"), int(m.get("bytes_after", 0)) / 2**20, m.get("runs"), m.get("cache")))
    lines.append("")
    lines.append("Settings: %s." % m.get("settings", ""))
    if m.get("verified"):
        lines.append("")
        lines.append("Restores checked against the source tree (diff -r, run 1): %s." % m["verified"])
    lines.append("")
    lines.append("Median over runs, (min–max) when the runs differ. Size = repository (or archive) size "
                 "after the operation; added = growth of the repository during it.")
    lines.append("")
    header = "| tool | operation | " + " | ".join(label for _, label, _ in METRICS) + " |"
    lines.append(header)
    lines.append("|" + "---|" * (2 + len(METRICS)))
    for op, label in OPS:
        for tool in TOOLS:
            cell = summary.get((tool, op))
            if cell is None:
                continue
            lines.append("| %s | %s | %s |" % (tool, label, " | ".join(fmt_cell(cell.get(k)) for k, _, _ in METRICS)))
    lines.append("")
    lines.append("coffer as a ratio to each peer (coffer median / peer median; below 1 means coffer "
                 "is faster, leaner or smaller):")
    lines.append("")
    peers = [p for p in PEERS if any(p in r for r in ratio_rows)]
    lines.append("| operation | metric | " + " | ".join("coffer/" + p for p in peers) + " |")
    lines.append("|" + "---|" * (2 + len(peers)))
    labels = dict(OPS)
    mlabels = {k: label for k, label, _ in METRICS}
    for r in ratio_rows:
        lines.append("| %s | %s | %s |" % (labels[r["op"]], mlabels[r["metric"]],
                                            " | ".join("%.2f" % r[p] if p in r else "–" for p in peers)))
    if m.get("load_before"):
        lines.append("")
        lines.append("Load average (1, 5, 15 min) before: %s; after: %s." % (m["load_before"], m.get("load_after")))
    if m.get("notes"):
        lines.append("")
        lines.append("Notes: " + m["notes"])
    return "\n".join(lines) + "\n"


def main():
    raw_path, meta_path, md_path, json_path = sys.argv[1:5]
    raw = load_jsonl(raw_path)
    meta = {}
    for item in load_jsonl(meta_path):
        meta.update(item)
    summary = summarise(raw)
    ratio_rows = ratios(summary)
    text = markdown(meta, summary, ratio_rows)
    with open(md_path, "w") as f:
        f.write(text)
    doc = {
        "meta": meta,
        "results": [{"tool": t, "op": o, **cell} for (t, o), cell in summary.items()],
        "ratios": ratio_rows,
        "raw": raw,
    }
    with open(json_path, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    sys.stdout.write(text)


if __name__ == "__main__":
    main()
