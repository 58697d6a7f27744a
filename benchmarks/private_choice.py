"""Private learning at ε = 1 a run: a differentially private choice of the student's prompt.

The issue's goal (#48): on SMS spam, with ε ≤ 1 per run, come within 3 points of the original
examples on the same model over 10 runs, beside the non-private methods on the same seeds and a
public control that shows the gain comes from the private data. In the `paper` preset's setting
(qwen1.5b, m = 8 teachers, n = 8 lessons, content-free calibration, 100 locked test messages a
run), each teacher drafts 8 examples (k = 8, keep 8); the drafts are dealt at random into 8
prompts of 8, every teacher's first 12 held-back messages (96 in all) are answered by the
student's model after each prompt, and report-noisy-max on the counts of right answers
(Laplace scale 2/ε, ε = 1) chooses the prompt (`dp_choice`): ε = 1, δ = 0 a run.

- `synthetic_examples+dp_choice`: the teachers' synthetic examples (drafted from their silos,
  so ε covers the choice; the drafts pass the privacy filter as every lesson does);
- `public_examples+dp_choice`: drafts from the task's description alone (the teachers never
  read their silos to write them): ε covers everything the silos give;
- `public_examples+random`: the public drafts, a prompt drawn at random: no private data at all
  (the public control);
- 0-shot and the original examples (which hand the silo over), on the same seeds.

Noise is seeded for repeatable measurement (`dp_secure_noise` off; a deployment draws it from
the OS). Resumes from finished cells; 0-shot and the original examples of runs 1–5 are those of
the `paper setting` study (locked.json):

    flock /tmp/sociallearn-model.lock .venv/bin/python -m benchmarks.private_choice --budget-minutes 60
"""

from __future__ import annotations

from typing import Any

from benchmarks import paper_rest
from benchmarks.locked import RESULTS, run_studies

SYNTHETIC_CHOICE = "synthetic_examples+dp_choice"
PUBLIC_CHOICE = "public_examples+dp_choice"
CONTROL = "public_examples+random"
SHARED = {
    **paper_rest.SHARED, "samples": 8, "keep": 8, "votes_held_out": 12, "dp_epsilon": 1.0,
    "dp_secure_noise": False, "runs": 10,
}  # fmt: skip
STUDIES: dict[str, dict[str, Any]] = {
    "private choice at ε = 1": {
        "methods": ("zero_shot", "original_examples", CONTROL, SYNTHETIC_CHOICE, PUBLIC_CHOICE)
    },
}
# What each private choice is compared with, run by run (`readme_tables.private_choice_rows`).
COMPARISONS = (
    (SYNTHETIC_CHOICE, "original_examples"),
    (SYNTHETIC_CHOICE, CONTROL),
    (PUBLIC_CHOICE, "original_examples"),
    (PUBLIC_CHOICE, CONTROL),
    (CONTROL, "original_examples"),
)


def main(argv: list[str] | None = None) -> None:
    run_studies(
        STUDIES, SHARED, RESULTS / "private_choice", argv,
        description=__doc__.splitlines()[0],
        also_reuse=(RESULTS / "locked.json", RESULTS / "paper_rest.json"),
    )  # fmt: skip


if __name__ == "__main__":
    main()
