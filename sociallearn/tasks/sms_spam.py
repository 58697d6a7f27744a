"""SMS Spam Collection: classify a text message as spam or ham."""

from __future__ import annotations

from pathlib import Path

from sociallearn.tasks.base import (
    DataError,
    Example,
    Task,
    check_file,
    default_data_dir,
    text_lines,
)


class SmsSpam(Task):
    name = "sms_spam"
    kind = "classification"
    labels = ("spam", "ham")
    description = "Classify an SMS message as spam or ham (ham: a legitimate personal message)."
    input_field = "Message"
    output_field = "Label"
    zero_shot_instruction = (
        "Classify each SMS message as spam (unsolicited advertising, prizes, scams) "
        "or ham (a normal personal message)."
    )
    max_answer_tokens = 2

    def load(self, path: Path | None = None) -> list[Example]:
        path = check_file(path or default_data_dir() / "sms_spam" / "SMSSpamCollection")
        examples = []
        for number, line in text_lines(path):
            if not line.strip():
                continue
            label, sep, text = line.partition("\t")
            if not sep:
                raise DataError(f"{path}, line {number}: expected 'label<TAB>text', found no tab")
            if label not in self.labels:
                raise DataError(
                    f"{path}, line {number}: field 'label' is {label!r}, expected 'spam' or 'ham'"
                )
            if not text.strip():
                raise DataError(f"{path}, line {number}: field 'text' is empty")
            examples.append(Example(input=text.strip(), output=label, answer=label))
        if not examples:
            raise DataError(f"{path}: no examples")
        return examples

    def lines(self, examples: list[Example]) -> list[str]:
        return [f"{example.answer}\t{example.input}" for example in examples]


class SmsSpamWithClasses(SmsSpam):
    """The paper's "SMS+class" format: every query names the classes it may be answered with."""

    name = "sms_spam_class"
    output_field = "Label (spam or ham)"

    @property
    def family(self) -> str:
        return SmsSpam.name
