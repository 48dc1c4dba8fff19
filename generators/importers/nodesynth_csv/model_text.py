"""What the release's raw model text (paper_content, url) supports: titles, verbatim quotes, countries, URLs.

paper_content holds the extraction model's own output: usually a summary (Title/Occupation/
Demographics/Country fields), sometimes its reasoning, rarely a sentence quoted from the paper.
Only what the text states is recovered; nothing is guessed.
"""

from __future__ import annotations

import re

from .cells import clean_item, dedupe, squash

_URL = re.compile(r"(?:https?://|www\.)[^\s'\"<>\]\[,]+", re.IGNORECASE)
# "Title: X", "**Title:** \"X\"", "*   **Title**: X" in paper_content fragments
_TITLE = re.compile(r"^[\s;*•\-]*\**\s*title\s*\**\s*:\s*\**\s*(?P<title>.+)$", re.IGNORECASE)
# some fragments run the fields together: "Title: X Occupation: Y Demographics: Z"
_NEXT_FIELD = re.compile(r"\s+\**(?:occupations?|demographics?|country|countries)\**\s*:", re.IGNORECASE)
_FIELD_LINE = re.compile(r"^[\s;*•\-]*\**\s*(?:occupations?|demographics?|country|countries|paper)\b", re.IGNORECASE)
# the paper's country as the release's own summary states it ("Country: Ghana", "**Country:** ...")
_COUNTRY_FIELD = re.compile(r"(?:^|[\s;*])\**countr(?:y|ies)\**\s*:\s*\**\s*(?P<value>.+)", re.IGNORECASE)
# a sentence the model quoted from the paper: it ends with a full stop inside closing quotes
_QUOTED_SENTENCE = re.compile(r"[.!?][\"”]\s*$")
MIN_QUOTE_WORDS = 8


def _fragments_lines(fragments: list[str]) -> list[str]:
    return [line for fragment in fragments for line in str(fragment).splitlines() if line.strip()]


def recover_titles(fragments: list[str]) -> list[str]:
    """Paper titles the release's paper_content states with a 'Title:' field (none are guessed)."""
    titles: list[str] = []
    for line in _fragments_lines(fragments):
        match = _TITLE.match(line)
        if match is None:
            continue
        title = _NEXT_FIELD.split(match.group("title"), maxsplit=1)[0]
        title = clean_item(title.replace("**", ""))
        if len(title) >= 3:
            titles.append(title)
    return dedupe(titles)


def recover_quotes(fragments: list[str]) -> list[str]:
    """Sentences the release quotes verbatim from the paper (a full sentence closed by a quote mark).

    Most rows only carry the extraction summary (Title/Occupation/Demographics/Country), which is
    not a quote; the model's own reasoning never ends in a quoted full stop, so it is skipped.
    """
    quotes: list[str] = []
    for line in _fragments_lines(fragments):
        text = line.strip()
        if not _QUOTED_SENTENCE.search(text) or _TITLE.match(text) or _FIELD_LINE.match(text):
            continue
        text = squash(text).strip(" \"“”*")
        if len(text.split()) >= MIN_QUOTE_WORDS:
            quotes.append(text)
    return dedupe(quotes)


def paper_countries_text(fragments: list[str]) -> str:
    """The 'Country:' fields of paper_content, as one lower-case string ('' when there are none)."""
    found = (_COUNTRY_FIELD.search(line) for line in _fragments_lines(fragments))
    return " | ".join(match.group("value") for match in found if match).casefold()


def recover_urls(items: list[str]) -> list[str]:
    """URLs from the url cell's items (an item may hold several, or none)."""
    urls: list[str] = []
    for item in items:
        for url in _URL.findall(item):
            url = url.rstrip(".;")
            # a ")" closing the sentence around a URL is not part of it; "/Foo_(bar)" keeps its own
            while url.endswith(")") and url.count(")") > url.count("("):
                url = url[:-1].rstrip(".;")
            urls.append(url)
    return dedupe(urls)
