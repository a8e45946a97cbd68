"""Input pattern analysis: which terms the failing inputs share, and how often inputs with a term fail.

Input: (suite, outcome, input text) of the counted attempts (passed, failed, error) of a
window that attached :data:`rq_obs.telemetry.attributes.INPUT`. Each input becomes a set of
terms (:func:`terms`), so a term counts once per attempt; per (suite, term) the result holds the
attempts whose input has the term and how many of them failed (failed or error). A term's
failure share (failed / attempts) says more than its count: "order" in 40 failing inputs of
400 is noise, "invoice" in 9 of 10 is a pattern.

Tokenisation is simple and deterministic: the text is first passed through
:func:`rq_obs.redact.redact` whole (an input holding a credential anywhere gives no term at
all), lower-cased (``str.casefold``), split into runs of letters and digits (Unicode aware;
apostrophes inside a word kept), and a word is kept when it has 2-24 characters, is not only
digits and is not in :data:`STOP_WORDS`. Adjacent kept words also give a bigram ("replacement
charger"). Only the first :data:`MAX_TEXT` characters are read.

Terms become label values, so only the ``top`` terms are returned: the terms of the most
failing attempts over every suite (ties: higher failure share, then alphabetical); the rest are
counted, not returned.
"""

from __future__ import annotations

import heapq
import re
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Iterable

from rq_obs.redact import redact, secret_kind

__all__ = ["STOP_WORDS", "MAX_TEXT", "MAX_TERM_LENGTH", "terms", "TermStat", "TermReport", "term_stats"]

#: characters of an input that are tokenised (attached inputs are cut to 1,024 already)
MAX_TEXT = 4096
#: longest word kept (longer runs are identifiers, hashes or keys, not patterns)
MAX_TERM_LENGTH = 24

#: English function words: frequent in every input, telling about none.
STOP_WORDS = frozenset("""
a about above after again against all am an and any are aren't as at be because been before being below between
both but by can can't cannot could couldn't did didn't do does doesn't doing don't down during each few for from
further had hadn't has hasn't have haven't having he he'd he'll he's her here here's hers herself him himself his
how how's i i'd i'll i'm i've if in into is isn't it it's its itself let's me more most mustn't my myself no nor
not of off on once only or other ought our ours ourselves out over own same shan't she she'd she'll she's should
shouldn't so some such than that that's the their theirs them themselves then there there's these they they'd
they'll they're they've this those through to too under until up very was wasn't we we'd we'll we're we've were
weren't what what's when when's where where's which while who who's whom why why's will with won't would wouldn't
you you'd you'll you're you've your yours yourself yourselves please
""".split())

_FAILED = ("failed", "error")
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")


def terms(text: str) -> frozenset[str]:
    """The terms of one input: kept words and bigrams of adjacent kept words (see the module doc)."""
    text = str(redact(str(text)[:MAX_TEXT]))
    if text.startswith("<redacted"):
        return frozenset()
    out: set[str] = set()
    prev: str | None = None
    for raw in _WORD.findall(text):
        word = raw.casefold().replace("’", "'")
        if (not 2 <= len(word) <= MAX_TERM_LENGTH or word in STOP_WORDS or word.isdigit()
                or len(raw) >= 16 and secret_kind(raw) is not None):
            prev = None
            continue
        out.add(word)
        if prev is not None:
            out.add(f"{prev} {word}")
        prev = word
    return frozenset(out)


@dataclass(frozen=True)
class TermStat:
    suite: str
    term: str
    attempts: int
    failed: int

    @property
    def failure_share(self) -> float:
        return self.failed / self.attempts

    def to_dict(self) -> dict:
        return {**asdict(self), "failure_share": self.failure_share}


@dataclass(frozen=True)
class TermReport:
    stats: list[TermStat]  # per (suite, term) of the top terms, by suite then rank
    ranked: list[str]  # the top terms, most failing first
    inputs: int  # counted attempts with an input
    failed_inputs: int
    terms_seen: int  # distinct terms in failing inputs
    left_out: int  # distinct terms in failing inputs beyond ``top``

    def totals(self) -> list[TermStat]:
        """One row per top term over every suite, in rank order."""
        acc: dict[str, list[int]] = {t: [0, 0] for t in self.ranked}
        for s in self.stats:
            acc[s.term][0] += s.attempts
            acc[s.term][1] += s.failed
        return [TermStat("", t, a, f) for t, (a, f) in acc.items()]


def term_stats(rows: Iterable[tuple[str, str, str]], top: int) -> TermReport:
    """``rows``: (suite, outcome, input) of counted attempts; see the module doc."""
    # a test sends the same input run after run: count attempts per distinct (suite, input, failed) first
    groups: Counter[tuple[str, str, bool]] = Counter((suite, text, outcome in _FAILED) for suite, outcome, text in rows)
    cache: dict[str, frozenset[str]] = {}
    per_group: list[tuple[str, bool, int, frozenset[str]]] = []
    failed_any: Counter[str] = Counter()
    for (suite, text, fail), n in groups.items():
        found = cache.get(text)
        if found is None:
            found = cache[text] = terms(text)
        per_group.append((suite, fail, n, found))
        if fail:
            for t in found:
                failed_any[t] += n
    # only terms failing at least as often as the top-th can rank: the others' attempts need no counting
    floor = heapq.nlargest(top, failed_any.values())[-1] if len(failed_any) > top else 1
    candidates = frozenset(t for t, c in failed_any.items() if c >= floor)
    seen: Counter[tuple[str, str]] = Counter()
    failed: Counter[tuple[str, str]] = Counter()
    seen_any: Counter[str] = Counter()
    for suite, fail, n, found in per_group:
        for t in found & candidates:
            seen_any[t] += n
            seen[(suite, t)] += n
            if fail:
                failed[(suite, t)] += n
    ranked = sorted(candidates, key=lambda t: (-failed_any[t], -failed_any[t] / seen_any[t], t))[:top]
    rank = {t: i for i, t in enumerate(ranked)}
    stats = [TermStat(s, t, n, failed[(s, t)]) for (s, t), n in seen.items() if t in rank]
    stats.sort(key=lambda x: (x.suite, rank[x.term]))
    inputs = sum(n for _, _, n, _ in per_group)
    failed_inputs = sum(n for _, fail, n, _ in per_group if fail)
    return TermReport(stats, ranked, inputs, failed_inputs, len(failed_any), len(failed_any) - len(ranked))
