#!/usr/bin/env python3
"""Turns bench/s3_bench.sh's raw measurements into a markdown table and a JSON file.

    s3_report.py RAW.jsonl META.jsonl OUT.md OUT.json     (also prints the markdown)
"""
import json
import statistics
import sys

raw_path, meta_path, md_path, json_path = sys.argv[1:5]
raw = [json.loads(line) for line in open(raw_path) if line.strip()]
meta = {}
for line in open(meta_path):
    if line.strip():
        meta.update(json.loads(line))


def walls(tool, op):
    return {r["run"]: r["wall"] for r in raw if r["tool"] == tool and r["op"] == op}


def stats(values):
    values = list(values)
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}


def op_stats(tool, op):
    rows = [r for r in raw if r["tool"] == tool and r["op"] == op]
    s = stats(r["wall"] for r in rows)
    if s:
        s["cpu_median"] = statistics.median(r["user"] + r["sys"] for r in rows)
        s["rss_mb_max"] = max(r["rss_kb"] for r in rows) / 1024
    return s


def difference(tool_a, op_a, tool_b, op_b):
    """Per-run difference a - b, so run-to-run drift cancels."""
    a, b = walls(tool_a, op_a), walls(tool_b, op_b)
    return stats(a[r] - b[r] for r in a if r in b)


summary = {
    "coffer create, local only": op_stats("coffer", "create-local"),
    "coffer create + S3 copy (http)": op_stats("coffer", "create-copy-http"),
    "coffer S3 copy share (http)": difference("coffer", "create-copy-http", "coffer", "create-local"),
    "aws s3 cp upload of the repository (http)": op_stats("aws-cli", "upload"),
    "coffer create + S3 copy (https)": op_stats("coffer", "create-copy-https"),
    "restic init (https)": op_stats("restic", "init"),
    "restic backup to S3 (https)": op_stats("restic", "backup"),
    "coffer --source s3 restore (http)": op_stats("coffer", "restore-http"),
    "aws s3 cp download of the repository (http)": op_stats("aws-cli", "download"),
    "coffer --source s3 restore (https)": op_stats("coffer", "restore-https"),
    "restic restore from S3 (https, empty cache)": op_stats("restic", "restore"),
}


def ratio(a, b):
    sa, sb = summary.get(a), summary.get(b)
    if not sa or not sb or sb["median"] <= 0:
        return None
    return sa["median"] / sb["median"]


ratios = {
    "coffer S3 copy share / aws s3 cp upload": ratio("coffer S3 copy share (http)",
                                                     "aws s3 cp upload of the repository (http)"),
    "coffer create+copy (https) / restic backup (https)": ratio("coffer create + S3 copy (https)",
                                                                "restic backup to S3 (https)"),
    "coffer restore (http) / aws s3 cp download": ratio("coffer --source s3 restore (http)",
                                                        "aws s3 cp download of the repository (http)"),
    "coffer restore (https) / restic restore (https)": ratio("coffer --source s3 restore (https)",
                                                             "restic restore from S3 (https, empty cache)"),
}
# Which ratio goes on which row.
row_ratio = {
    "aws s3 cp upload of the repository (http)": "coffer S3 copy share / aws s3 cp upload",
    "restic backup to S3 (https)": "coffer create+copy (https) / restic backup (https)",
    "aws s3 cp download of the repository (http)": "coffer restore (http) / aws s3 cp download",
    "restic restore from S3 (https, empty cache)": "coffer restore (https) / restic restore (https)",
}

tree_mb = int(meta.get("tree_bytes", 0)) / 1e6
repo_mb = int(meta.get("repo_bytes_run1", 0)) / 1e6


def fmt(x, digits=2):
    return "-" if x is None else f"{x:.{digits}f}"


lines = [f"# coffer S3 benchmark, {meta.get('date', '?')}", ""]
lines.append(f"Tree: {meta.get('workload', '?')}: {meta.get('tree_files', '?')} files, {tree_mb:.1f} MB; "
             f"coffer repository {repo_mb:.1f} MB. {meta.get('runs', '?')} runs, wall seconds "
             f"(median, min, max); cache {meta.get('cache', '?')}.")
lines.append("")
lines.append("| operation | median s | min s | max s | tree MB/s | CPU s | peak RSS MB | coffer / this |")
lines.append("|---|---:|---:|---:|---:|---:|---:|---:|")
for name, s in summary.items():
    if s is None:
        lines.append(f"| {name} | failed | | | | | | |")
        continue
    mbps = tree_mb / s["median"] if s["median"] > 0 and "share" not in name and "init" not in name else None
    r = ratios.get(row_ratio.get(name, ""), None)
    lines.append(f"| {name} | {fmt(s['median'])} | {fmt(s['min'])} | {fmt(s['max'])} | {fmt(mbps, 1)} | "
                 f"{fmt(s.get('cpu_median'))} | {fmt(s.get('rss_mb_max'), 0)} | {fmt(r) if r else ''} |")
lines.append("")
lines.append("Ratios (coffer / other, below 1 means coffer is faster):")
for k, v in ratios.items():
    lines.append(f"- {k}: {fmt(v)}")
lines.append("")
copy_bytes = meta.get("s3_copy_bytes_run1")
if copy_bytes:
    lines.append(f"Bytes on S3 after coffer's copy (run 1): {int(copy_bytes) / 1e6:.1f} MB; local repository "
                 f"without backup_log.json: {int(meta.get('copy_repo_bytes_run1', 0)) / 1e6:.1f} MB.")
lines.append(f"Restores checked against the source with diff -r: {meta.get('verified', '?').replace('|', '; ')}.")
if meta.get("failures"):
    lines.append("")
    lines.append("Failures:")
    for f in meta["failures"].split("|"):
        lines.append(f"- {f}")
lines.append("")
lines.append("Machine: " + ", ".join(f"{meta.get(k, '?')}" for k in ("cpu",)) +
             f", {meta.get('nproc', '?')} cores, {meta.get('memory', '?')}, kernel {meta.get('kernel', '?')}, "
             f"{meta.get('filesystem', '?')}; load {meta.get('load_before', '?')} before, "
             f"{meta.get('load_after', '?')} after.")
lines.append("Versions: " + "; ".join(f"{k[8:]} {v}" for k, v in meta.items() if k.startswith("version_")) + ".")
lines.append(f"Settings: {meta.get('settings', '')}.")
lines.append("")
lines.append(f"Notes: {meta.get('notes', '')}")
markdown = "\n".join(lines) + "\n"

with open(md_path, "w") as f:
    f.write(markdown)
with open(json_path, "w") as f:
    json.dump({"meta": meta, "summary": summary, "ratios": ratios, "raw": raw}, f, indent=2)
    f.write("\n")
print(markdown, end="")
