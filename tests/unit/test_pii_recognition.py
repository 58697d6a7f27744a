"""PII recognition with Presidio and the spaCy model: checksums, formats, names, no network."""

from __future__ import annotations

import socket

import pytest

from sociallearn.privacy.filter import FilterSettings, check, find_pii, redact_pii
from sociallearn.privacy.pii import (
    PiiSpan,
    address_spans,
    analyzer,
    every_mention,
    has_public_suffix,
    merge,
)


def test_iban_needs_a_valid_checksum():
    assert find_pii("Please pay into DE89370400440532013000 today").get("iban") == 1
    # One digit changed: mod 97 fails, so it is no IBAN (its digits are still redacted as an id).
    invalid = find_pii("Please pay into DE89370400440532013001 today")
    assert "iban" not in invalid and invalid


def test_card_numbers_need_luhn():
    assert find_pii("card 4111 1111 1111 1111 please") == {"card": 1}
    assert "card" not in find_pii("card 4111 1111 1111 1112 please")


def test_phone_number_with_extension_is_redacted_whole():
    text, counts = redact_pii("Call me on 555-010-0199x123 after work.")
    assert text == "Call me on [PHONE] after work." and counts == {"phone": 1}


@pytest.mark.parametrize(
    "address",
    ["jan.kowalski@onet.pl", "marie@tiscali.fr", "joao.silva@empresa.com.br", "a@b.museum"],
)
def test_emails_with_any_top_level_domain(address: str):
    text, counts = redact_pii(f"write to {address} tomorrow")
    assert text == "write to [EMAIL] tomorrow" and counts == {"email": 1}


def test_top_level_domains_come_from_the_bundled_list():
    assert has_public_suffix("x@example.co.uk") and not has_public_suffix("x@host.notatld")


@pytest.mark.parametrize(
    "sentence",
    [
        "Please ask Zofia Wiśniewska to bring the projector.",
        "I had lunch with Jürgen Müller yesterday.",
        "Thanks to Chloé Lefèvre for covering my shift.",
        "The keys are with Mr Kowalczyk, just knock twice.",
    ],
)
def test_names_with_diacritics_and_surnames_are_redacted(sentence: str):
    text, counts = redact_pii(sentence)
    assert counts.get("name") and not any(ch in text for ch in "śüéèł") and "Kowalczyk" not in text


def test_a_name_in_lower_case_or_capitals_is_read_as_a_name():
    assert redact_pii("tell jennifer the keys are under the mat")[1] == {"name": 1}
    assert redact_pii("TELL JENNIFER THE KEYS ARE UNDER THE MAT")[1] == {"name": 1}


def test_every_mention_of_a_name_found_once_is_redacted():
    # spaCy tags "Max" in the question, not in "Answer: Max saw" (an everyday word after ':').
    lesson = "Question: Max saw 30 ducks. How many did Max see?\nAnswer: Max saw 30 ducks."
    text, counts = redact_pii(lesson)
    assert "Max" not in text and counts == {"name": 3}
    # A very common word the recogniser calls a name is not looked for elsewhere.
    heading = "Break Down the Problem. Read the Problem."
    assert every_mention(heading, [PiiSpan(15, 22, "name")]) == [PiiSpan(15, 22, "name")]
    assert len(every_mention("Max and Max-like", [PiiSpan(0, 3, "name")])) == 3


@pytest.mark.parametrize(
    "sentence",
    [
        "The meeting moved to 10:30 on Monday, bring 12 chairs.",
        "URGENT! Claim your £500 prize before Friday, reply WIN now.",
        "Breakfast is on the table. The report is due on 01.09.2024.",
        "Message: Hope you had a great summer.\nLabel: ham",
    ],
)
def test_pii_free_sentences_are_left_unchanged(sentence: str):
    verdict, shared = check(sentence, [], FilterSettings())
    assert verdict.passed and shared == sentence and not verdict.redactions


@pytest.mark.parametrize(
    ("sentence", "address"),
    [
        ("Send the invoice to 576 Lisa Hills Suite 436 please.", "576 Lisa Hills Suite 436"),
        ("I live at Schillerstraße 12a now.", "Schillerstraße 12a"),
        ("It is at Utz-Sölzer-Ring 9-2, second floor.", "Utz-Sölzer-Ring 9-2"),
        ("Meet me at 12, rue de la Paix tomorrow.", "12, rue de la Paix"),
        ("Deliver it to Via Roma, 12 Piano 3 after six.", "Via Roma, 12 Piano 3"),
        (
            "Pick me up from Calle de Juan Gris 7 Puerta 2 tomorrow.",
            "Calle de Juan Gris 7 Puerta 2",
        ),
        ("Mail it to Rua das Flores 45.", "Rua das Flores 45"),
        ("We moved to ul. Kwiatowa 5 in May.", "ul. Kwiatowa 5"),
    ],
)
def test_street_addresses_are_redacted_whole(sentence: str, address: str):
    spans = address_spans(sentence)
    assert [sentence[s.start : s.end] for s in spans] == [address]
    assert redact_pii(sentence)[0] == sentence.replace(address, "[ADDRESS]")


@pytest.mark.parametrize(
    "sentence",
    [
        "During 15 minutes he ran 3 laps.",  # an English word, not a German street
        "Ship it via DHL 3 days before.",
        "I have 3 Apple Watches and 2 phones.",
        "Read chapter 5 on Monday, then route A.",
        "The total. I paid 40 for it.",  # "al. I" is not Polish "al." (aleja)
        "He scored 120\nDrive home safely.",  # an address stays on one line
    ],
)
def test_numbers_beside_capitalised_words_are_no_address(sentence: str):
    assert address_spans(sentence) == []


def test_drivers_licence_and_passport_ids():
    assert find_pii("licence D123456789012 expires") == {"id": 1}
    assert find_pii("licence Q884-890-28-898 expires") == {"id": 1}
    assert find_pii("passport X12345678 was issued") == {"id": 1}


def test_overlapping_spans_merge_under_the_more_specific_kind():
    spans = [PiiSpan(0, 10, "phone"), PiiSpan(5, 20, "iban"), PiiSpan(30, 35, "name")]
    assert merge(spans) == [PiiSpan(0, 20, "iban"), PiiSpan(30, 35, "name")]


def test_library_can_be_switched_off():
    assert find_pii("I had lunch with Jürgen Müller", library=False) == {}


def test_no_network_is_attempted(monkeypatch: pytest.MonkeyPatch):
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the filter tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    analyzer.cache_clear()  # the engine is built again, offline
    verdict, shared = check(
        "Mail jan.kowalski@onet.pl or call +48 512 046 610; Zofia Wiśniewska, 10.0.0.7",
        [],
        FilterSettings(),
    )
    assert verdict.passed and "onet" not in shared and "Zofia" not in shared
