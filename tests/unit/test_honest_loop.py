"""A learning loop that cannot fool itself: disjoint choice and acceptance checks, labels the
teacher itself gives, balanced shares, and degenerate or inconsistent lessons rejected."""

from __future__ import annotations

import pytest

from sociallearn.core.lm import Score, ScriptedLM
from sociallearn.privacy.filter import FilterSettings, check, degenerate
from sociallearn.stores.silo import TeacherSilo
from sociallearn.tasks import Example, get_task
from sociallearn.teaching.drafting import labelled_as_taught, labels_alternating, without_repeats
from sociallearn.teaching.judging import check_halves
from sociallearn.teaching.refining import accept, clearly_better
from sociallearn.teaching.settings import Settings
from sociallearn.teaching.sharing import check_example
from sociallearn.teaching.workspace import Draft, TeacherWorkspace

SMS = get_task("sms_spam")


def example(text: str, label: str) -> Example:
    return Example(input=text, output=label, answer=label)


class KeywordJudge(ScriptedLM):
    """Says spam for a message with 'prize' in it, when the prompt holds an example that
    teaches so ("... prize ...\\nLabel: spam"); says ham otherwise."""

    def __init__(self) -> None:
        super().__init__(lambda prompt, n: " Win a prize now, text WIN\nLabel: spam")

    def score(self, prefix: str, continuations: object) -> list[Score]:
        body, _, query = prefix.rpartition("Message: ")
        taught = "prize" in body and "Label: spam" in body
        spam = taught and "prize" in query
        return [
            Score(0.0 if (text.strip() == "spam") == spam else -1.0, 1)
            for text in continuations  # type: ignore[attr-defined]
        ]


def workspace(model: ScriptedLM, held: list[Example], **settings: object) -> TeacherWorkspace:
    shots = [example("Claim your prize today", "spam"), example("See you at lunch", "ham")]
    silo = TeacherSilo("teacher-0", shots * 4, held)
    values = {"calibration": "none", "votes_held_out": 8, "privacy": FilterSettings(names=False)}
    return TeacherWorkspace("teacher-0", silo, SMS, model, Settings(**{**values, **settings}))


def test_choice_and_acceptance_read_disjoint_held_back_examples_labels_in_turn():
    held = [example(f"spam {i}", "spam") for i in range(9)]
    held += [example(f"ham {i}", "ham") for i in range(7)]
    silo = TeacherSilo("t", [], held)
    select, acceptance = check_halves(SMS, silo, 8)
    assert set(select).isdisjoint(acceptance)
    assert [e.answer for e in select] == ["spam", "ham"] * 4
    assert [e.answer for e in acceptance[:6]] == ["spam", "ham"] * 3
    assert len(check_halves(SMS, silo, 3)[0]) == 3


@pytest.mark.parametrize(
    ("ours", "theirs", "better"),
    [
        ([1, 1, 1, 0], [0, 0, 0, 0], True),  # 3 wins: 3 > √3
        ([1, 1, 0, 0], [0, 0, 0, 0], True),  # 2 > √2
        ([1, 0, 0, 0], [0, 0, 0, 0], False),  # one example: 1 > √1 fails (noise)
        ([1, 1, 1, 0], [0, 0, 0, 1], False),  # 3 wins, 1 loss: 2 > √4 fails
        ([1, 1, 1, 1], [1, 1, 1, 1], False),  # no difference
    ],
)
def test_a_revision_must_beat_the_noise_of_the_check(ours, theirs, better):
    assert clearly_better([bool(x) for x in ours], [bool(x) for x in theirs]) is better


def spam_and_ham_held_back() -> list[Example]:
    held = [example(f"Claim the prize number {i}", "spam") for i in range(8)]
    return held + [example(f"Dinner at {i} tonight", "ham") for i in range(8)]


def test_refined_drafts_that_do_not_clearly_help_on_unseen_held_back_examples_are_not_kept():
    space = workspace(KeywordJudge(), spam_and_ham_held_back())
    first = [Draft("Message: Lunch at noon?\nLabel: ham", example("Lunch at noon?", "ham"))]
    same = [Draft("Message: Dinner soon?\nLabel: ham", example("Dinner soon?", "ham"))]
    space.first_drafts, space.drafts, space.best_drafts = first, first, same
    drafts, acceptance = accept(space, space.model)
    assert drafts == first  # no better on the acceptance half: the first drafts go on
    assert acceptance == {"first": 0.5, "refined": 0.5, "adopted": 0.0}

    teaches = [Draft("Message: Claim a prize\nLabel: spam", example("Claim a prize", "spam"))]
    space.best_drafts = teaches
    drafts, acceptance = accept(space, space.model)
    assert drafts == teaches and acceptance == {"first": 0.5, "refined": 1.0, "adopted": 1.0}


def test_a_synthetic_example_whose_label_the_teacher_itself_does_not_give_is_dropped():
    # The teacher's shots teach 'prize' → spam; its own classifier reads the drafts.
    space = workspace(KeywordJudge(), spam_and_ham_held_back())
    drafts = [
        Draft("d1", example("Your turn to win! Claim your prize, call now", "ham")),  # wrong
        Draft("d2", example("Claim your prize, call now", "spam")),
        Draft("d3", example("Happy new year to you all", "ham")),
        Draft("d4", example("Happy new year to you all", "spam")),  # wrong
    ]
    assert [d.text for d in labelled_as_taught(space, drafts)] == ["d2", "d3"]
    assert labelled_as_taught(space, []) == []


def test_a_teachers_share_takes_the_labels_in_turn():
    ranked = [Draft(f"h{i}", example(f"h{i}", "ham")) for i in range(4)]
    ranked.insert(3, Draft("s0", example("s0", "spam")))
    assert [d.text for d in labels_alternating(SMS, ranked)[:4]] == ["s0", "h0", "h1", "h2"]
    gsm = get_task("gsm8k")
    assert labels_alternating(gsm, ranked) == ranked


@pytest.mark.parametrize(
    "text",
    [
        "Wishing you a very happy new year! " * 8,
        "Call now to claim call now to claim call now to claim call now to claim",
        "[PHONE] [URL]",
        "   ",
    ],
)
def test_degenerate_text_is_rejected_as_a_quality_failure(text):
    reason = degenerate(text)
    assert reason is not None and reason.startswith("quality:")
    verdict, _ = check(
        text, ["an unrelated private message about lunch"], FilterSettings(names=False)
    )
    assert not verdict.passed and any(r.startswith("quality:") for r in verdict.reasons)


@pytest.mark.parametrize(
    "text",
    [
        "Wishing you a very happy new year! See you all at the party on Saturday.",
        "Hi, are we still on for the meeting? I'll bring the notes.",
        "Natalie has 3 apples and buys 4 more apples. Then she buys 4 more apples and eats 2. "
        "How many apples does she have?",
        "ok",
    ],
)
def test_ordinary_text_is_not_degenerate(text):
    assert degenerate(text) is None


def test_a_name_found_in_one_text_of_an_example_is_redacted_in_both():
    # The recogniser finds "Robinson" in the worked answer ("So Robinson has ...") but not in
    # the question ("Robinson had ..."): redacting it in one only would give it away.
    gsm = get_task("gsm8k")
    synthetic = Example(
        input="Robinson had 70 candies and gave 20 away. How many are left?",
        output="70 - 20 = <<70-20=50>>50. So Robinson has 50 left.\n#### 50",
        answer="50",
    )
    verdict, shared = check_example(
        synthetic, ["an unrelated private question"], FilterSettings(), records=[],
        labels=gsm.labels,
    )  # fmt: skip
    assert verdict.passed, verdict.reasons
    assert "Robinson" not in shared.input + shared.output
    assert shared.input.startswith("[NAME] had 70") and "So [NAME] has 50" in shared.output
    assert verdict.redactions["name"] == 2 and shared.output.endswith("#### 50")


def test_the_filter_off_shares_an_example_untouched():
    synthetic = Example(input="Jack had 7 pens.", output="Jack had 7.\n#### 7", answer="7")
    _, shared = check_example(synthetic, [], FilterSettings(enabled=False), records=[], labels=())
    assert shared == synthetic


def test_a_teacher_whose_own_classifier_is_near_chance_keeps_its_drafts():
    # Shots that never show a spam message: its classifier says ham to everything, right on
    # half the held-back examples, so its opinion of a label is no evidence.
    space = workspace(KeywordJudge(), spam_and_ham_held_back())
    space.silo.examples = [example("See you at lunch", "ham")] * 8
    drafts = [Draft("d1", example("Claim your prize, call now", "spam"))]
    assert labelled_as_taught(space, drafts) == drafts
    assert space.trusts_labels is False


def test_an_instruction_says_each_sentence_once():
    looping = "Spam offers prizes. Ham is chat. Spam offers prizes. Spam offers prizes.\n- a rule\n- a rule\n\nEnd."
    assert without_repeats(looping) == "Spam offers prizes. Ham is chat.\n- a rule\n\nEnd."
    assert without_repeats("One rule.\nAnother rule.") == "One rule.\nAnother rule."
