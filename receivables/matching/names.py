"""Payer names to customers: company suffixes and punctuation normalised, then a fuzzy score.

Built once per worker from every customer (names, aliases, parents) and kept: an exact
normalised name is a dict lookup; only an unseen spelling pays for a rapidfuzz search, and its
answer is remembered (only those: a worker sees tens of thousands of exact names in a day's bank
files, and remembering each of them too grew the cache with every one, a few MB a worker over
50,000 payments, for a lookup the index already holds).

A search scores only the names whose length could reach the cutoff: ``fuzz.ratio`` is at most
``200 * shorter / (shorter + longer)``, so at the engine's cutoff of 85 a 16-letter spelling
cannot match a name under 12 or over 21 letters. The names are kept sorted by length, and the
search reads one slice: about half of them at full scale, with the same answers.

A batch's unseen spellings are searched together (``look_ahead``): one ``process.cdist`` over the
names within reach of them all. rapidfuzz reads every name it is given afresh on each call, and
that reading was most of a search's time (about 2 ms of a 30,000-name index); twelve spellings
together cost about what two searched one at a time did.
"""

from __future__ import annotations

import math
import re
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from rapidfuzz import fuzz, process

from receivables.matching.types import CustomerInfo

#: Legal-form words dropped from the end of a name ("Acme Corp." is "Acme Corporation").
# fmt: off
SUFFIXES = frozenset({
    "inc", "incorporated", "llc", "lc", "corp", "corporation", "co", "company", "cos", "ltd",
    "limited", "gmbh", "mbh", "ag", "sa", "sas", "sarl", "srl", "spa", "bv", "nv", "plc", "pty",
    "llp", "lp", "kg", "oy", "ab", "as", "holdings", "and",
})
# fmt: on
#: The best-scoring names a search keeps (before one customer's aliases are taken as one).
SEARCH_LIMIT = 20
#: Fuzzy answers remembered per index; the cache only saves time, it never changes an answer.
CACHE_SIZE = 20_000
#: Spellings scored by one ``cdist`` call: a uint8 score per name each (64 x 30,000 names: 2 MB).
LOOK_AHEAD_CHUNK = 64
#: Subsidiary levels followed below a payer (a parent pays its subsidiaries' invoices).
MAX_DEPTH = 4


@dataclass(frozen=True)
class NameHit:
    customer_id: int
    score: int  # 0..100; 100 when the normalised names are equal
    matched: str  # the customer's name or alias that matched, as the customer is known


def _collapse_initials(tokens: list[str]) -> list[str]:
    """ "l l c" -> "llc", so "L.L.C." reads as the suffix it is."""
    out: list[str] = []
    run = ""
    for token in tokens:
        if len(token) == 1 and token.isalpha():
            run += token
            continue
        if run:
            out.append(run)
            run = ""
        out.append(token)
    if run:
        out.append(run)
    return out


# Remembered: matching asks for each payer's name several times (which references it vouches
# for, whose invoices to read, then to match), and a day's files repeat their payers.
@lru_cache(maxsize=CACHE_SIZE)
def normalise_name(name: str) -> str:
    """Lower case, ASCII, '&' as 'and', no punctuation, no trailing legal form, no leading 'the'.
    A last word cut short by the bank ("ACME CORPORATI") counts as the legal form it begins."""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    text = re.sub(r"[^a-z0-9]+", " ", text.replace("&", " and "))
    tokens = _collapse_initials(text.split())
    whole = list(tokens)
    if tokens and tokens[0] == "the":
        tokens = tokens[1:]
    while len(tokens) > 1 and (
        tokens[-1] in SUFFIXES
        or (len(tokens[-1]) >= 4 and any(s.startswith(tokens[-1]) for s in SUFFIXES))
    ):
        tokens = tokens[:-1]
    return " ".join(tokens or whole)


def _token_sorted(norm: str) -> str:
    return " ".join(sorted(norm.split()))


class NameIndex:
    """Every customer's names and aliases, for payer look-ups, and the parent/subsidiary tree."""

    def __init__(self, customers: Iterable[CustomerInfo]) -> None:
        self.customers: dict[int, CustomerInfo] = {}
        self._children: dict[int, list[int]] = {}
        self._exact: dict[str, list[tuple[int, str]]] = {}
        # (token-sorted name, owner), in the order built: customer id, then name before aliases
        entries: list[tuple[str, tuple[int, str]]] = []
        # (normalised name, cutoff) -> fuzzy hits
        self._cache: dict[tuple[str, int], tuple[NameHit, ...]] = {}
        for customer in sorted(customers, key=lambda c: c.id):
            self.customers[customer.id] = customer
            if customer.parent_id is not None:
                self._children.setdefault(customer.parent_id, []).append(customer.id)
            for shown in (customer.name, *customer.aliases):
                norm = normalise_name(shown)
                if not norm:
                    continue
                owners = self._exact.setdefault(norm, [])
                if all(cid != customer.id for cid, _ in owners):
                    owners.append((customer.id, shown))
                entries.append((_token_sorted(norm), (customer.id, shown)))
        # by length (a stable sort: built order within a length), so that a search reads the
        # slice of lengths its cutoff allows; ``_built`` keeps each name's place in built order,
        # by which equal scores rank, as when every name was searched
        order = sorted(range(len(entries)), key=lambda i: len(entries[i][0]))
        self._choices: list[str] = [entries[i][0] for i in order]
        self._owners: list[tuple[int, str]] = [entries[i][1] for i in order]
        self._built: list[int] = order
        self._lengths: list[int] = [len(choice) for choice in self._choices]
        self._exact_hits = {
            norm: tuple(NameHit(cid, 100, shown) for cid, shown in owners)
            for norm, owners in self._exact.items()
        }

    def lookup(self, payer_name: str, cutoff: int = 85, limit: int = 5) -> tuple[NameHit, ...]:
        """Customers whose name is like ``payer_name``, best first (ties by customer id)."""
        norm = normalise_name(payer_name)
        if not norm:
            return ()
        hits = self._exact_hits.get(norm) or self._cache.get((norm, cutoff))
        if hits is None:
            hits = self._search(norm, cutoff)
            self._remember(norm, cutoff, hits)
        return tuple(h for h in hits if h.score >= cutoff)[:limit]

    def look_ahead(self, payer_names: Iterable[str], cutoff: int = 85) -> None:
        """Search, together, the spellings among ``payer_names`` that are neither a customer's
        exact name nor remembered, and remember their answers: ``lookup`` then finds them. The
        answers are ``_search``'s: ``cdist`` says which names reach the cutoff, and those few are
        scored again one by one, so that their scores are the floats a search ranks by."""
        if cutoff <= 0 or cutoff > 100:
            return
        unseen: dict[str, str] = {}  # normalised -> token-sorted, in first-seen order
        for name in payer_names:
            norm = normalise_name(name) if name else ""
            if norm and norm not in self._exact_hits and (norm, cutoff) not in self._cache:
                unseen.setdefault(norm, _token_sorted(norm))
        norms = list(unseen)
        for at in range(0, len(norms), LOOK_AHEAD_CHUNK):
            chunk = norms[at : at + LOOK_AHEAD_CHUNK]
            queries = [unseen[norm] for norm in chunk]
            reaches = [self._within_reach(len(query), cutoff) for query in queries]
            start, end = min(r[0] for r in reaches), max(r[1] for r in reaches)
            choices = self._choices[start:end]
            scores = process.cdist(
                queries,
                choices,
                scorer=fuzz.ratio,
                processor=None,
                score_cutoff=cutoff,
                dtype=np.uint8,
                workers=1,
            )
            for norm, query, row in zip(chunk, queries, scores, strict=True):
                found = []
                for index in np.flatnonzero(row).tolist():
                    score = fuzz.ratio(query, choices[index], processor=None, score_cutoff=cutoff)
                    if score:
                        found.append((score, start + index))
                self._remember(norm, cutoff, self._best(found))

    def _remember(self, norm: str, cutoff: int, hits: tuple[NameHit, ...]) -> None:
        if len(self._cache) >= CACHE_SIZE:
            self._cache.clear()
        self._cache[norm, cutoff] = hits

    def _search(self, norm: str, cutoff: int) -> tuple[NameHit, ...]:
        # ratio over tokens sorted once at build time is token_sort_ratio, without re-sorting
        # every customer's name on every look-up (about 6x faster)
        query = _token_sorted(norm)
        start, end = self._within_reach(len(query), cutoff)
        found = process.extract(
            query,
            self._choices[start:end],
            scorer=fuzz.ratio,
            processor=None,
            score_cutoff=cutoff,
            limit=None,
        )
        return self._best([(score, start + index) for _choice, score, index in found])

    def _best(self, found: list[tuple[float, int]]) -> tuple[NameHit, ...]:
        """Each customer's best of the best SEARCH_LIMIT (score, place in ``_choices``), equal
        scores in built order: the names a search of every name would keep."""
        found.sort(key=lambda hit: (-hit[0], self._built[hit[1]]))
        best: dict[int, NameHit] = {}
        for score, place in found[:SEARCH_LIMIT]:
            cid, shown = self._owners[place]
            score = min(int(score), 99)  # 100 is kept for names that normalise equal
            if cid not in best or score > best[cid].score:
                best[cid] = NameHit(cid, score, shown)
        return tuple(sorted(best.values(), key=lambda h: (-h.score, h.customer_id)))

    def _within_reach(self, length: int, cutoff: int) -> tuple[int, int]:
        """The slice of ``_choices`` whose lengths can score ``cutoff`` against a name of
        ``length``: ``fuzz.ratio`` of lengths m <= n is at most 200 m / (m + n). Widened by a
        letter each way, so rounding never leaves a name out (the score cutoff decides)."""
        if cutoff <= 0 or cutoff > 100:
            return 0, len(self._choices)
        shortest = math.floor(length * cutoff / (200 - cutoff)) - 1
        longest = math.ceil(length * (200 - cutoff) / cutoff) + 1
        return bisect_left(self._lengths, shortest), bisect_right(self._lengths, longest)

    def family(self, customer_id: int) -> tuple[int, ...]:
        """The customer and its subsidiaries, a few levels down, in id order."""
        found = {customer_id}
        level = [customer_id]
        for _ in range(MAX_DEPTH):
            level = [c for p in level for c in self._children.get(p, ()) if c not in found]
            if not level:
                break
            found.update(level)
        return tuple(sorted(found))
