"""Prints the agent crate's instrumentation cost as ratios to a bare span, from the estimates
criterion wrote (`cargo bench -p seedwatch-agent --bench instrumentation` first)."""

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "target" / "criterion" / "instrumentation"


def mean_ns(name: str) -> float:
    return json.loads((ROOT / name / "new" / "estimates.json").read_text())["mean"]["point_estimate"]


bare = mean_ns("bare_span (reference)")
print("| call | mean ns | × a bare span |")
print("|---|---|---|")
print(f"| bare span | {bare:,.0f} | 1.00 |")
for name in ("tool_call", "llm_call"):
    try:
        ns = mean_ns(name)
    except FileNotFoundError:
        sys.exit(f"no estimate for {name} under {ROOT}: run the bench first")
    print(f"| {name} | {ns:,.0f} | {ns / bare:.2f} |")
