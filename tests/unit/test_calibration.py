"""The student's label calibration, with a scripted model whose label prior depends on the input."""

from __future__ import annotations

from collections.abc import Sequence

from sociallearn.core.lm import Score, ScriptedLM
from sociallearn.tasks import Example, get_task
from sociallearn.teaching.evaluate import evaluate
from sociallearn.teaching.settings import Settings
from sociallearn.teaching.student import Student

TASK = get_task("sms_spam")
PREAMBLE = "Lesson\n\n"
SPAM = ["win a prize now", "win cash win", "win prize now", "win big prize"]
HAM = ["see you at home", "are you ok", "call you at home", "good night dear"]


class BiasedLM(ScriptedLM):
    """Spam is signalled by 'win' and 'prize', under a strong prior for ham; 'N/A' looks like
    spam to it (so a content-free input misjudges the prior)."""

    def __init__(self) -> None:
        super().__init__(lambda prompt, n: "")
        self.scored: list[str] = []

    def score(self, prefix: str, continuations: Sequence[str]) -> list[Score]:
        query = prefix.rsplit(f"{TASK.input_field}: ", 1)[1]
        self.scored.append(query)
        words = query.split()
        spam = 2.0 * sum(word in ("win", "prize") for word in words) - 5.0
        spam += 6.0 if "N/A" in query else 0.0
        return [Score(spam if text == " spam" else 0.0, 1) for text in continuations]

    def score_pairs(self, pairs: Sequence[tuple[str, str]]) -> list[Score]:
        """Each prompt scored once for all its labels, as the engine does."""
        by_prefix: dict[str, dict[str, Score]] = {}
        for prefix, _ in pairs:
            if prefix not in by_prefix:
                texts = [f" {label}" for label in TASK.labels]
                by_prefix[prefix] = dict(zip(texts, self.score(prefix, texts), strict=True))
        return [by_prefix[prefix][text] for prefix, text in pairs]


def answers(student: Student, queries: list[str]) -> list[str]:
    return [answer.answer for answer in student.answer_many(PREAMBLE, queries)]


def test_domain_calibration_removes_the_prior_that_a_content_free_input_misses() -> None:
    queries = SPAM + HAM
    expected = ["spam"] * len(SPAM) + ["ham"] * len(HAM)
    assert answers(Student(BiasedLM(), TASK, calibration="none"), queries) == ["ham"] * 8
    assert answers(Student(BiasedLM(), TASK), queries) == ["ham"] * 8  # content-free: 'N/A'
    assert answers(Student(BiasedLM(), TASK, calibration="domain"), queries) == expected


def test_domain_inputs_are_random_strings_of_the_queries_words() -> None:
    model = BiasedLM()
    student = Student(model, TASK, calibration="domain")
    student.adapt_to(SPAM + HAM)
    student.answer(PREAMBLE, "win now")
    words = {word for query in SPAM + HAM for word in query.split()}
    drawn = [query.rsplit("\n", 1)[0] for query in model.scored[1:]]  # after the query itself
    length = round(sum(len(query.split()) for query in SPAM + HAM) / len(SPAM + HAM))
    assert len(drawn) == 20 and len(set(drawn)) > 10
    assert all(set(text.split()) <= words and len(text.split()) == length for text in drawn)


def test_domain_answers_do_not_depend_on_how_the_queries_are_batched() -> None:
    labelled = [(text, "spam") for text in SPAM] + [(text, "ham") for text in HAM]
    examples = [Example(input=text, output=label, answer=label) for text, label in labelled]
    together = evaluate(Student(BiasedLM(), TASK, calibration="domain"), PREAMBLE, examples)
    one_by_one = Student(BiasedLM(), TASK, calibration="domain")
    one_by_one.adapt_to(SPAM + HAM)
    alone = [one_by_one.answer(PREAMBLE, q).answer for q in SPAM + HAM]
    assert [p.predicted for p in together.predictions] == alone
    assert together.accuracy == 1.0


def test_the_domain_prior_is_computed_once_per_preamble() -> None:
    model = BiasedLM()
    student = Student(model, TASK, calibration="domain")
    student.answer_many(PREAMBLE, SPAM + HAM)
    student.answer_many(PREAMBLE, SPAM)
    assert len(model.scored) == 20 + 12


def test_too_few_queries_calibrate_on_the_content_free_input() -> None:
    model = BiasedLM()
    student = Student(model, TASK, calibration="domain")
    few = SPAM[:2] + HAM[:2]
    assert answers(student, few) == ["ham"] * 4  # as content-free does
    assert "N/A" in model.scored[len(few)]  # after the queries themselves
    student.adapt_to(SPAM + HAM)
    assert answers(student, few) == ["spam", "spam", "ham", "ham"]


def test_calibration_is_keyed_and_configures_the_student() -> None:
    assert Settings(calibration="content_free").run_key() == Settings().run_key()
    assert Settings(calibration="domain").run_key() != Settings().run_key()
    student = Student.for_settings(BiasedLM(), TASK, Settings(calibration="domain"))
    assert student.calibration == "domain"
