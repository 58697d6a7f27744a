"""The private-numbers layer's limit: codes it leaves unprotected against numbers it redacts.

The layer redacts a number of 4+ digits that at most `limit` private texts hold. A secret code
that the data also holds elsewhere in `limit` or more texts is not rare, so a lesson may carry
it. For each task and limit, on the real datasets (no model runs):
- unprotected codes: the share of the 9,000 canary codes (1000–9999) that `limit` or more private
  texts hold, for one teacher with all the data and for a silo of half of it;
- redacted in new texts: the share of one half's texts with a number that the other half (a
  silo) holds in 1..`limit` texts: what the layer would redact in a lesson written like them.
Writes benchmarks/results/rare_numbers.json.

    .venv/bin/python -m benchmarks.rare_numbers
"""

from __future__ import annotations

import argparse
import json
import random
from collections import Counter
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from sociallearn.privacy.filter import FilterSettings, digit_runs, number_counts
from sociallearn.privacy.secret_sharer import CODES
from sociallearn.tasks import get_task

RESULTS = Path(__file__).parent / "results"
DIGITS = FilterSettings().secret_digits
console = Console()


def measure(task_name: str, limits: list[int], seed: int) -> dict[str, Any]:
    texts = [f"{e.input}\nanswer: {e.output}" for e in get_task(task_name).load()]
    random.Random(seed).shuffle(texts)
    half, other = texts[: len(texts) // 2], texts[len(texts) // 2 :]
    whole_counts, half_counts, other_counts = (
        number_counts(part, DIGITS) for part in (texts, half, other)
    )
    rows = []
    for limit in limits:

        def unprotected(counts: Counter[str], limit: int = limit) -> float:
            return sum(counts[str(code)] >= limit for code in CODES) / len(CODES)

        redacted = sum(
            any(1 <= other_counts[run] <= limit for run in digit_runs(text) if len(run) >= DIGITS)
            for text in half
        )
        rows.append(
            {
                "limit": limit,
                "unprotected_codes_whole": unprotected(whole_counts),
                "unprotected_codes_half": unprotected(half_counts),
                "new_texts_redacted": redacted / len(half),
            }
        )
    return {"task": task_name, "texts": len(texts), "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=["gsm8k", "sms_spam"])
    parser.add_argument("--limits", type=int, nargs="+", default=[2, 3, 5, 10])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=RESULTS / "rare_numbers.json")
    args = parser.parse_args()
    report = {
        "default_limit": FilterSettings().rare_number_texts,
        "seed": args.seed,
        "tasks": [measure(task, args.limits, args.seed) for task in args.tasks],
    }
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    table = Table(title="Codes left unprotected / numbers redacted, by the layer's limit")
    for column in ("task", "limit", "codes: all data", "codes: half", "new texts redacted"):
        table.add_column(column)
    for task in report["tasks"]:
        for row in task["rows"]:
            table.add_row(
                task["task"],
                str(row["limit"]),
                f"{100 * row['unprotected_codes_whole']:.1f}%",
                f"{100 * row['unprotected_codes_half']:.1f}%",
                f"{100 * row['new_texts_redacted']:.1f}%",
            )
    console.print(table)
    console.print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
