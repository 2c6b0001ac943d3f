"""Prints the agent crate's instrumentation cost as ratios to a bare span, from the estimates
criterion wrote (`cargo bench -p seedwatch-agent --bench instrumentation` first)."""

import json
import sys
from pathlib import Path

CRITERION = Path(__file__).resolve().parents[1] / "target" / "criterion"
# `instrumentation`: the caller's cost at a rate the pipelines sustain (the measure);
# `saturated`: back-to-back calls, the export threads busy and the batch queues dropping.
GROUPS = ("instrumentation", "saturated")


CALLS = ("tool_call", "tool_call_typed", "llm_call")


def estimates(group: str, name: str) -> tuple[float, float]:
    """Criterion's mean and slope (the mean again when it fitted no slope), in ns."""
    path = CRITERION / group / name / "new" / "estimates.json"
    try:
        e = json.loads(path.read_text())
    except FileNotFoundError:
        sys.exit(f"no estimate at {path}: run the bench first")
    mean = e["mean"]["point_estimate"]
    slope = (e.get("slope") or {}).get("point_estimate", mean)
    return mean, slope


print("| group | call | mean ns | × a bare span | slope ns | × a bare span |")
print("|---|---|---|---|---|---|")
for group in GROUPS:
    bare, bare_slope = estimates(group, "bare_span (reference)")
    print(f"| {group} | bare span | {bare:,.0f} | 1.00 | {bare_slope:,.0f} | 1.00 |")
    for name in CALLS:
        ns, slope = estimates(group, name)
        print(f"| {group} | {name} | {ns:,.0f} | {ns / bare:.2f} | {slope:,.0f} | {slope / bare_slope:.2f} |")
