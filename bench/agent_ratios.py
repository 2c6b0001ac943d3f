"""Prints the agent crate's instrumentation cost as ratios to a bare span, from the estimates
criterion wrote (`cargo bench -p seedwatch-agent --bench instrumentation` first)."""

import json
import sys
from pathlib import Path

CRITERION = Path(__file__).resolve().parents[1] / "target" / "criterion"
# `instrumentation`: the caller's cost at a rate the pipelines sustain (the measure);
# `saturated`: back-to-back calls, the export threads busy and the batch queues dropping.
GROUPS = ("instrumentation", "saturated")


def mean_ns(group: str, name: str) -> float:
    path = CRITERION / group / name / "new" / "estimates.json"
    try:
        return json.loads(path.read_text())["mean"]["point_estimate"]
    except FileNotFoundError:
        sys.exit(f"no estimate at {path}: run the bench first")


print("| group | call | mean ns | × a bare span |")
print("|---|---|---|---|")
for group in GROUPS:
    bare = mean_ns(group, "bare_span (reference)")
    print(f"| {group} | bare span | {bare:,.0f} | 1.00 |")
    for name in ("tool_call", "llm_call"):
        ns = mean_ns(group, name)
        print(f"| {group} | {name} | {ns:,.0f} | {ns / bare:.2f} |")
