"""Payer names to customers: company suffixes and punctuation normalised, then a fuzzy score.

Built once per worker from every customer (names, aliases, parents) and kept: an exact
normalised name is a dict lookup; only an unseen spelling pays for a rapidfuzz search, and its
answer is remembered (only those: a worker sees tens of thousands of exact names in a day's bank
files, and remembering each of them too grew the cache with every one, a few MB a worker over
50,000 payments, for a lookup the index already holds).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

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
#: Scores below this are never kept, whatever cutoff a caller asks for later.
FLOOR = 60
#: Fuzzy answers remembered per index; the cache only saves time, it never changes an answer.
CACHE_SIZE = 20_000
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
        self._choices: list[str] = []
        self._owners: list[tuple[int, str]] = []
        self._cache: dict[str, tuple[NameHit, ...]] = {}  # normalised name -> fuzzy hits
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
                self._choices.append(_token_sorted(norm))
                self._owners.append((customer.id, shown))
        self._exact_hits = {
            norm: tuple(NameHit(cid, 100, shown) for cid, shown in owners)
            for norm, owners in self._exact.items()
        }

    def lookup(self, payer_name: str, cutoff: int = 85, limit: int = 5) -> tuple[NameHit, ...]:
        """Customers whose name is like ``payer_name``, best first (ties by customer id)."""
        norm = normalise_name(payer_name)
        if not norm:
            return ()
        hits = self._exact_hits.get(norm) or self._cache.get(norm)
        if hits is None:
            hits = self._search(norm)
            if len(self._cache) >= CACHE_SIZE:
                self._cache.clear()
            self._cache[norm] = hits
        return tuple(h for h in hits if h.score >= cutoff)[:limit]

    def _search(self, norm: str) -> tuple[NameHit, ...]:
        best: dict[int, NameHit] = {}
        # ratio over tokens sorted once at build time is token_sort_ratio, without re-sorting
        # every customer's name on every look-up (about 6x faster)
        for _choice, score, index in process.extract(
            _token_sorted(norm),
            self._choices,
            scorer=fuzz.ratio,
            processor=None,
            score_cutoff=FLOOR,
            limit=20,
        ):
            cid, shown = self._owners[index]
            score = min(int(score), 99)  # 100 is kept for names that normalise equal
            if cid not in best or score > best[cid].score:
                best[cid] = NameHit(cid, score, shown)
        return tuple(sorted(best.values(), key=lambda h: (-h.score, h.customer_id)))

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
