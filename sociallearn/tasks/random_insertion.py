"""Random Insertion: recover a word whose letters have random symbols inserted between them.

Generated deterministically from the English word list shipped in the `wordfreq` package,
so it needs no download.
"""

from __future__ import annotations

import random
from pathlib import Path

from sociallearn.tasks.base import Example, Task, text_lines

_SYMBOLS = list(" .,;:!?-_=+*/|~^'\"#%&")
SIZE = 3000


class RandomInsertion(Task):
    name = "random_insertion"
    kind = "generation"
    description = "Remove the random symbols inserted between the letters of a word."
    input_field = "Scrambled"
    output_field = "Word"
    zero_shot_instruction = (
        "Each scrambled word has random symbols inserted between its letters. "
        "Remove the symbols and write the original word."
    )
    max_answer_tokens = 8

    def __init__(self, seed: int = 1234) -> None:
        self.seed = seed

    def load(self, path: Path | None = None) -> list[Example]:
        """Examples from the word list; `path` may name a file with one word per line instead."""
        if path is not None:
            words = [line.strip() for _, line in text_lines(path) if line.strip()]
        else:
            from wordfreq import top_n_list

            words = [
                w
                for w in top_n_list("en", 8000)
                if w.isascii() and w.isalpha() and 5 <= len(w) <= 10
            ][:SIZE]
        rng = random.Random(self.seed)
        return [Example(input=self.scramble(word, rng), output=word, answer=word) for word in words]

    def lines(self, examples: list[Example]) -> list[str]:
        """The words (their scrambles are drawn again when the file is read)."""
        return [example.answer for example in examples]

    @staticmethod
    def scramble(word: str, rng: random.Random) -> str:
        pieces = [word[0]]
        for letter in word[1:]:
            if rng.random() < 0.7:
                pieces.append(rng.choice(_SYMBOLS))
            pieces.append(letter)
        return "".join(pieces)
