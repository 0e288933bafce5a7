"""The group's code as a poster: who signed it, said in words, and the largest type in which the printed poster
still fits one landscape page. Plain functions of the code and its commitments (board.py's code page, its
Markdown and the board use them)."""

from __future__ import annotations

import math
from collections.abc import Callable

from .models import CodeVersion, Commitment


def signatures(committed: list[Commitment]) -> tuple[list[str], int]:
    """The names of those who signed the code (in the order they committed), and how many more committed without
    theirs. Only each person's own choice puts their name there, never a setting of the board."""
    names = [c.user.name for c in committed if c.signed]
    return names, len(committed) - len(names)


def committed_words(names: list[str], others: int, mark: Callable[[str], str] = str) -> str:
    """What the code says of who committed to it, the same on the page, the poster and in Markdown: the names of
    those who signed, each through `mark`, and how many more committed."""
    if not names:
        return ("Nobody has committed to it yet." if not others else
                f"{others} {'person has' if others == 1 else 'people have'} committed to it.")
    names = [mark(name) for name in names]
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return f"Signed: {listed}" + (f", and {others} more committed." if others else ".")


# The printed poster's type (app.css, .code-poster[data-type]): sizes in vh (in print, a hundredth of the printed
# page's height, so the type grows with the paper) and the columns the behaviours run in, largest first.
POSTER_TYPES = ((4.6, 2), (4.0, 2), (3.5, 2), (3.1, 2), (2.8, 2), (2.5, 2), (2.3, 3), (2.05, 3), (1.8, 3))
# The poster's width inside its padding, in vh: a landscape A4 or A3 page less its margins is ~1.47 times as wide
# as it is high (app.css: @page poster-*, .code-poster's padding).
POSTER_WIDTH = 138


def poster_type(version: CodeVersion, signed: str) -> int:
    """The largest type (1: POSTER_TYPES[0]) in which the printed poster still fits one page, by the lines its
    behaviours, theme headings and signatures (`signed`: their words) take in it: a short code in large type, and
    ~20 behaviours of everyday length still on one page. An estimate on the careful side, of the layout app.css
    makes (tests/browser/test_poster.py prints it)."""
    groups = version.by_theme
    themed = bool(groups[0][0])   # then each group has a heading ("Other behaviours" for those without a theme)
    for level, (em, columns) in enumerate(POSTER_TYPES, 1):
        # Characters a line holds, less what wrapping whole words leaves at its end (about half a word).
        per_line = ((POSTER_WIDTH - (columns - 1) * 2.5 * em) / columns - 1.6 * em) / (0.5 * em) - 3.5
        # Each behaviour a block (never split between columns), a heading kept with the group's first behaviour.
        blocks = [((math.ceil(len(text) / per_line) * 1.3 + 0.3) + (2 if themed and index == 0 else 0)) * em
                  for _, _, texts in groups for index, text in enumerate(texts)]
        signed_lines = (math.ceil(len(signed) / (POSTER_WIDTH / (0.53 * 0.85 * em))) * 1.1 + 1.2) * em
        if 4.5 * em + balanced_height(blocks, columns) + signed_lines + 6.5 <= 100:   # the title and date; the padding
            return level
    return len(POSTER_TYPES)   # longer still: it runs on to a second page


def balanced_height(blocks: list[float], columns: int) -> float:
    """How tall balanced columns are (CSS columns) holding these blocks in order, none split: the least height in
    which they fill at most `columns` columns, each column taking blocks until the next would not fit."""
    height = max(max(blocks), sum(blocks) / columns)
    while True:
        used, filled, short = 0.0, 1, math.inf
        for block in blocks:
            if used + block > height:
                short = min(short, used + block - height)   # the height that would have kept it in this column
                filled, used = filled + 1, 0.0
            used += block
        if filled <= columns:
            return height
        height += short
