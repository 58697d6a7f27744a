"""The copy layer's short-text check on real SMS messages: what it changes that is not a copy."""

from __future__ import annotations

from pathlib import Path

from sociallearn.privacy.filter import FilterSettings, _normalise, check
from sociallearn.tasks import get_task
from stores.silo import load_split

TEACHERS = 8
LESSONS_PER_SILO = 300
SHORT_COPY = "verbatim copy: the text of a private example"


def test_short_private_texts_rarely_change_other_real_messages(datasets: Path) -> None:
    """Real messages of the other silos stand in for lessons that copy nothing of this silo's
    (near-duplicate spam aside, which the other copy layers judge): the short-text check may
    change at most 1% of them, and it catches each of the silo's own short texts."""
    split = load_split(
        get_task("sms_spam"), str(datasets / "sms_spam" / "SMSSpamCollection"), TEACHERS, 100, 0
    )
    silos = list(split.silos.values())
    settings = FilterSettings(names=False, library=False)  # the copy layers alone
    changed = checked = caught = short = 0
    for silo in silos:
        private = silo.private_texts()
        own = {_normalise(text) for text in private}
        others = [
            text
            for other in silos
            if other is not silo
            for text in other.private_texts()
            if _normalise(text) not in own  # the same message in two silos is a copy
        ][:LESSONS_PER_SILO]
        for lesson in others:
            verdict, _ = check(lesson, private, settings)
            checked += 1
            changed += "copy" in verdict.redactions or SHORT_COPY in verdict.reasons
        for text in private:
            if len(_normalise(text)) < settings.min_copy_chars:
                short += 1
                caught += SHORT_COPY in check(text, private, settings)[0].reasons
    assert checked == TEACHERS * LESSONS_PER_SILO
    found = f"{changed} of {checked} other messages changed, {caught} of {short} own short texts"
    print(f"short-text check: {found}")
    assert changed / checked <= 0.01, found
    assert short > 0 and caught == short
