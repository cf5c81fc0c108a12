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
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from report import METRICS, PARTS, fmt_cell, load_jsonl, summarise  # noqa: E402  (shared helpers)
from report import ratios as coffer_ratios  # noqa: E402

TOOLS = PARTS["files"]["tools"]
OPS = PARTS["files"]["ops"]
PEERS = [t for t in TOOLS if t != "coffer"]


def ratios(summary):
    return coffer_ratios(summary, OPS, PEERS)


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
    if m.get("workload_source"):
        lines.append("")
        lines.append("Source: %s." % m["workload_source"])
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
    summary = summarise(raw, TOOLS)
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
