"""First names for the privacy filter and the Secret Sharer's canaries.

The list is Faker's US census first names (male and female, with their frequencies). The filter
uses it to read names spelled letter by letter ("J e n n i f e r") and to show the NER model a
name written in lower case or capitals as one ("jennifer" → "Jennifer"); the model decides.
Names that are also everyday English words ("Will", "Grace", "Summer") are left out.
"""

from __future__ import annotations

import functools

from faker.providers.person.en_US import Provider

# Census first names that are mostly ordinary words in SMS text; not recognised as names.
AMBIGUOUS = frozenset(
    [
        "Amber", "Angel", "April", "Autumn", "Bill", "Bob", "Brandy", "Brook", "Candy", "Carter",
        "Chase", "Christian", "Cole", "Crystal", "Dale", "Dawn", "Dean", "Destiny", "Diamond",
        "Don", "Drew", "Earl", "Faith", "Frank", "Gene", "Glen", "Grace", "Grant", "Guy",
        "Heather", "Holly", "Hope", "Hunter", "Iris", "Ivy", "Jack", "Jay", "June", "Kent", "Lee",
        "Mark", "Mason", "Max", "May", "Mercedes", "Miles", "Misty", "Noel", "Parker", "Penny",
        "Ray", "Rich", "Rose", "Ruby", "Sandy", "Skyler", "Sterling", "Summer", "Virginia",
        "Wade", "Will",
    ]
)  # fmt: skip


@functools.cache
def name_weights() -> dict[str, float]:
    """Every census first name with its frequency (the larger of its male and female shares)."""
    weights: dict[str, float] = {}
    for table in (Provider.first_names_male, Provider.first_names_female):
        for name, weight in table.items():
            weights[name] = max(weights.get(name, 0.0), float(weight))
    return weights


def common_names(count: int) -> list[str]:
    """The `count` most frequent unambiguous first names (for canary templates)."""
    ranked = sorted(name_weights(), key=lambda name: (-name_weights()[name], name))
    names = [name for name in ranked if name not in AMBIGUOUS]
    if count > len(names):
        raise ValueError(f"only {len(names)} first names are available, {count} asked for")
    return names[:count]


def is_name(word: str) -> bool:
    """Whether `word`, in any case, is a listed first name that is not an everyday word."""
    name = word.capitalize()
    return name in name_weights() and name not in AMBIGUOUS
