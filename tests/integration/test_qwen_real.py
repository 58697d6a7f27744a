"""The optional embedded model qwen1.5b (Qwen2.5-Coder-1.5B-Instruct), loaded for real.

Kept to one load, a few label scores and one short chat reply (about a minute with the file in
the page cache): a 1.5B model decodes only a few tokens a second on 2 cores.
"""

from __future__ import annotations

import os

import pytest

from sociallearn.core.models import EMBEDDED_MODELS
from sociallearn.engine import LlamaEngine
from sociallearn.tasks import get_task
from sociallearn.teaching.evaluate import evaluate
from sociallearn.teaching.student import Student, build_prompt

pytestmark = pytest.mark.integration

# Zero-shot, it prefers " ham" for every SMS (by up to 1 nat); two examples fix that.
TWO_SHOTS = (
    "Classify each SMS as spam or ham.\n\n"
    "SMS: Free entry in our weekly draw, text WIN to 80082 to claim your prize\nLabel: spam\n\n"
    "SMS: Running late, I'll be home by seven\nLabel: ham\n\n"
)


@pytest.fixture(scope="module")
def qwen():
    if "qwen1.5b" not in EMBEDDED_MODELS:
        reason = "qwen1.5b is not installed: bash scripts/setup.sh installs it"
        if os.environ.get("CI"):
            pytest.fail(reason)  # CI installs it: a skip there would hide a broken install
        pytest.skip(reason)
    return LlamaEngine("qwen1.5b")


def test_it_is_qwen_with_a_chat_template(qwen):
    assert "Qwen2.5" in qwen.llm.metadata["general.name"]
    assert qwen.has_chat_template


@pytest.mark.parametrize(
    ("message", "label"),
    [
        ("WINNER!! You have won a free prize, text CLAIM to 80086 now", "spam"),
        ("Are we still meeting for coffee after work today?", "ham"),
    ],
)
def test_it_labels_an_obvious_sms(qwen, message: str, label: str):
    spam, ham = qwen.score(f"{TWO_SHOTS}SMS: {message}\nLabel:", [" spam", " ham"])
    assert ("spam" if spam.logprob > ham.logprob else "ham") == label


def test_it_replies_through_its_chat_template(qwen):
    question = "Is the SMS 'see you at dinner, love mum' spam? Reply with one word: yes or no."
    reply = qwen.chat([{"role": "user", "content": question}], max_tokens=4)
    assert reply.strip().lower().startswith("no")


def test_domain_calibration_lifts_its_zero_shot_answers(qwen, datasets):
    """Content-free calibration ('N/A') leaves qwen1.5b saying ham to spam 0-shot (here 10 spam
    answers for 20 spam, 70% right); the prior of random strings of the messages' own words
    (`calibration="domain"`) says spam more often and is more accurate (here 14, 80%)."""
    task = get_task("sms_spam")
    examples = task.load(datasets / "sms_spam" / "SMSSpamCollection")
    chosen = [e for e in examples if e.answer == "spam"][:20]
    chosen += [e for e in examples if e.answer == "ham"][:20]
    preamble = build_prompt(task)
    content_free = evaluate(Student(qwen, task), preamble, chosen)
    domain = evaluate(Student(qwen, task, calibration="domain"), preamble, chosen)
    said_spam = [sum(p.predicted == "spam" for p in r.predictions) for r in (content_free, domain)]
    assert said_spam[0] < said_spam[1]
    assert domain.accuracy > content_free.accuracy


def test_its_samples_decode_together_though_its_streams_round_differently(qwen):
    """Qwen's batched logits differ from one-token decodes by rounding, so greedy answers keep
    the one-at-a-time loop, but samples at a temperature decode in parallel KV streams: n texts,
    the same for the same seed from the same cache state (on this model a cached prompt's last
    token rounds otherwise than one decoded with the rest, so the state matters)."""
    probe = qwen.sampler.probe_streams()
    assert probe.loads and not probe.exact
    assert probe.largest_logit_difference is not None and probe.largest_logit_difference < 1.0
    prompt = TWO_SHOTS + "SMS:"
    calls: list[str] = []
    complete = qwen.complete
    qwen.complete = lambda *args, **kwargs: calls.append("complete") or complete(*args, **kwargs)
    try:
        options = {"temperature": 0.7, "seed": 3, "stop": ("\n\n",), "max_tokens": 24}
        qwen.scorer.clear()
        first = qwen.sample(prompt, 4, **options)
        qwen.scorer.clear()
        again = qwen.sample(prompt, 4, **options)
    finally:
        del qwen.complete
    assert calls == [] and len(first) == 4 and first == again
    assert len(set(first)) > 1  # four draws, not one text four times
