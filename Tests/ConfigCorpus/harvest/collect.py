#!/usr/bin/python3
"""Turns the recorder's files (one directory per test class: DIR/<TestClass>/*.json) into harvested.jsonl.

Usage: collect.py DIR > Tests/ConfigCorpus/harvested.jsonl
Keeps of the environment only what the loader reads (STATE_DIRECTORY); drops exact duplicates (the first test class,
in name order, keeps the config); reports on standard error what it left out (configs over 64 KiB, recorded only by
size: BoundaryConfigs has a config over 1 MiB).
"""
import json
import os
import re
import sys

# A test's temporary directory, also as JSONSerialization writes it ("\/tmp\/…"): the recorder replaced the plain form.
TEMPORARY = re.compile(r"(?:\\/|/)tmp(?:\\/|/)certagent-tests-[0-9A-F-]{36}")

root = sys.argv[1]
seen = set()
records = []
left_out = []
for source in sorted(os.listdir(root)):
    directory = os.path.join(root, source)
    if not os.path.isdir(directory):
        continue
    for name in sorted(os.listdir(directory)):
        with open(os.path.join(directory, name), encoding="utf-8") as file:
            record = json.load(file)
        record["source"] = source
        if (record.get("configBase64") or "").startswith("TOO-LARGE"):
            left_out.append(f"{source}: a config of {record['configBase64'].split(':')[1]} bytes")
            continue
        if record.get("config"):
            record["config"] = TEMPORARY.sub("@TMP@", record["config"])
        record["environment"] = {key: value for key, value in record["environment"].items() if key == "STATE_DIRECTORY"}
        key = json.dumps({k: v for k, v in record.items() if k != "source"}, sort_keys=True)
        if key in seen:
            continue
        seen.add(key)
        records.append(record)
for record in records:
    ordered = {key: record[key] for key in ["source", "config", "configBase64", "path", "environment", "runningAsRoot", "tree"] if record.get(key) is not None}
    print(json.dumps(ordered, ensure_ascii=False, separators=(",", ":")))
print(f"{len(records)} configs from {len({r['source'] for r in records})} test classes; left out: {left_out or 'none'}", file=sys.stderr)
