"""Cash matching, pure: each signal, format tolerance, bundles, discounts, shorts, overpayments,
parents, currencies, ambiguity, thresholds, and the money caps over random payments."""

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal as D
from itertools import combinations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from receivables.matching import (
    Context,
    CustomerInfo,
    NameIndex,
    OpenInvoice,
    Outcome,
    PaymentIn,
    Reason,
    RemittanceLine,
    Thresholds,
    customers_for_payment,
    extract_references,
    keys_for_payment,
    match_payment,
    normalise_name,
    reference_key,
)
from receivables.matching.combinations import find_combinations

ACME, GLOBEX, GLOBEX_EU, INITECH = 10, 20, 21, 30
CUSTOMERS = [
    CustomerInfo(ACME, "Acme Corporation", aliases=("Acme Corp Payables",)),
    CustomerInfo(GLOBEX, "Globex Group"),
    CustomerInfo(GLOBEX_EU, "Globex Europe GmbH", parent_id=GLOBEX),
    CustomerInfo(INITECH, "Initech LLC"),
]
ISSUED = date(2024, 3, 1)
DUE = date(2024, 3, 31)
ON_TIME = date(2024, 3, 10)
LATE = date(2024, 3, 20)


def invoice(iid, customer=ACME, amount="1500.00", *, currency="USD", discount="0", until=None):
    return OpenInvoice(
        id=iid,
        number=f"INV-{iid:07d}",
        customer_id=customer,
        currency=currency,
        open_amount=D(amount),
        issued_on=ISSUED,
        due_date=DUE,
        discount_amount=D(discount),
        discount_until=until,
    )


def context(*invoices, accounts=None, customers=CUSTOMERS):
    by_key, by_customer = {}, {}
    for inv in invoices:
        by_key.setdefault(reference_key(inv.number), []).append(inv)
        by_customer.setdefault(inv.customer_id, []).append(inv)
    return Context(
        invoices_by_key=by_key,
        open_by_customer=by_customer,
        name_index=NameIndex(customers),
        customers_by_account=accounts or {},
    )


def payment(amount, *, payer="", account="", text="", lines=(), currency="USD", on=LATE):
    return PaymentIn(
        key="P-1",
        amount=D(amount),
        currency=currency,
        value_date=on,
        payer_name=payer,
        payer_account_fingerprint=account,
        free_text=text,
        remittance=tuple(lines),
    )


def paid_to(candidate):
    return {a.invoice_id: a.amount for a in candidate.allocations}


# --- each signal on its own ---------------------------------------------------------------


def test_a_remittance_reference_alone_is_a_suggestion_and_pays_what_it_can():
    # given an invoice of 1,500.00 named by a remittance, from an unknown payer paying 1,000.00
    ctx = context(invoice(123))
    # when matched
    result = match_payment(payment("1000.00", lines=[RemittanceLine("INV-0000123")]), ctx)
    # then the reference alone suggests it; 1,000.00 is applied and 500.00 stays open
    best = result.best
    assert result.outcome == Outcome.SUGGESTED
    assert [s.name for s in best.signals if s.name != "date"] == ["reference"]
    assert "Remittance names INV-0000123 (exact)" in best.explanation
    assert paid_to(best) == {123: D("1000.00")}
    assert best.allocations[0].short == 0 and best.unapplied == 0
    assert "the rest stays open" in best.explanation


def test_a_payer_name_alone_puts_nothing_on_an_invoice():
    # given a known payer whose open invoices add up to nothing like the payment
    ctx = context(invoice(123))
    # when matched
    result = match_payment(payment("999.00", payer="ACME CORP."), ctx)
    # then the only candidate is on account, too weak to suggest
    assert result.outcome == Outcome.UNMATCHED
    assert result.best.allocations == () and result.best.unapplied == D("999.00")
    assert "'ACME CORP.' ~ 'Acme Corporation' (100)" in result.best.explanation


def test_the_amount_and_a_known_payer_find_the_invoice_without_a_reference():
    # given a known payer and one open invoice equal to the payment
    ctx = context(invoice(123), invoice(124, amount="800.00"))
    # when matched with no reference, under its own name and under a misspelt one
    exact = match_payment(payment("800.00", payer="Acme Corp"), ctx)
    misspelt = match_payment(payment("800.00", payer="ACMEE CORP"), ctx)
    # then invoice 124 is applied on the exact name, and only suggested on the misspelt one
    assert exact.outcome == Outcome.AUTO
    assert paid_to(exact.best) == paid_to(misspelt.best) == {124: D("800.00")}
    assert {s.name for s in exact.best.signals} >= {"amount", "payer"}
    assert "amount equals INV-0000124's open 800.00" in exact.best.explanation
    assert misspelt.outcome == Outcome.SUGGESTED
    assert misspelt.best.confidence < exact.best.confidence


def test_a_confirmed_bank_account_identifies_a_payer_with_an_unknown_name():
    # given a name nobody knows, but an account confirmed for Acme before
    ctx = context(invoice(123), accounts={"fp-acme": ACME})
    # when matched
    result = match_payment(payment("1500.00", payer="AP DEPT 4471", account="fp-acme"), ctx)
    # then Acme's invoice is found by amount, on the account's word
    assert paid_to(result.best) == {123: D("1500.00")}
    assert "bank account confirmed for 'Acme Corporation' before" in result.best.explanation
    assert customers_for_payment(payment("1", account="fp-acme"), ctx) == {ACME}


def test_the_value_date_breaks_a_tie_between_two_equal_invoices():
    # given two invoices of the same amount, one due long before the payment
    old = replace(
        invoice(1, amount="500.00"), issued_on=date(2023, 1, 1), due_date=date(2023, 1, 31)
    )
    ctx = context(old, invoice(2, amount="500.00"))
    # when matched
    result = match_payment(payment("500.00", payer="Acme Corporation"), ctx)
    # then the one within terms ranks first, but too close to apply alone
    assert paid_to(result.best) == {2: D("500.00")}
    assert any(s.name == "date" for s in result.best.signals)
    assert result.outcome == Outcome.AMBIGUOUS


# --- reference formats --------------------------------------------------------------------


@pytest.mark.parametrize(
    "written",
    [
        "INV-0000123",
        "INV0000123",
        "Inv#123",
        "inv # 123",
        "invoice no. 0000123",
        "INVOICE: 123",
        "INV 000 0123",
        "INV-000-0123",
    ],
)
def test_free_text_references_tolerate_prefixes_zeros_and_grouping(written):
    # given the reference as customers write it in free text
    found = extract_references(payment("1", text=f"payment for {written} thanks"))
    # then it reads as invoice 123
    assert "123" in {r.key for r in found}


@pytest.mark.parametrize("field", ["INV-0000123", "0000123", "123", "000-0123", "Inv# 0000123"])
def test_a_remittance_reference_field_counts_bare_digits(field):
    found = extract_references(payment("1", lines=[RemittanceLine(field)]))
    assert [(r.key, r.source) for r in found] == [("123", "remittance")]


def test_amounts_and_order_numbers_in_free_text_are_not_invoice_references():
    found = extract_references(payment("1", text="PO 4500012 total 1500.00 on 20240320"))
    assert {r.key for r in found} == {"20240320"}  # a bare long number is only weak evidence
    assert all(r.bare for r in found)


def test_a_list_after_one_prefix_names_every_invoice():
    found = extract_references(payment("1", text="INV 0000123/0000124, 125 and 126"))
    assert [r.key for r in found] == ["123", "124", "125", "126"]


def test_a_payments_references_are_read_once_and_the_same_for_its_equal():
    # given a payment matching asks about several times in one batch
    first = payment("1", text="INV 0000123 and 124", lines=[RemittanceLine("INV-0000125")])
    found = extract_references(first)
    # then every asking gets the same references, and an equal payment (the same file again)
    # gets what a fresh reading would
    assert extract_references(first) is found
    again = payment("1", text="INV 0000123 and 124", lines=[RemittanceLine("INV-0000125")])
    assert [(r.key, r.source) for r in extract_references(again)] == [
        ("125", "remittance"),
        ("123", "text"),
        ("124", "text"),
    ]
    # and a payment whose lines cannot be remembered (a list, not a tuple) is read afresh
    unhashable = replace(first, remittance=[RemittanceLine("INV-0000125")])
    assert [r.key for r in extract_references(unhashable)] == ["125", "123", "124"]


def test_keys_to_prefetch_include_the_transposed_readings():
    keys = keys_for_payment(payment("1", lines=[RemittanceLine("INV-0000132")]))
    assert {"132", "123", "312"} <= keys


def test_a_transposed_reference_matches_when_the_amount_agrees_but_below_an_exact_one():
    # given invoice 123 and remittances writing 0000132 (no such invoice) and 0000123
    ctx = context(invoice(123))
    swapped = match_payment(payment("1500.00", lines=[RemittanceLine("INV-0000132")]), ctx)
    exact = match_payment(payment("1500.00", lines=[RemittanceLine("INV-0000123")]), ctx)
    # then both find invoice 123, the swapped digits with less confidence, and say so
    assert paid_to(swapped.best) == paid_to(exact.best) == {123: D("1500.00")}
    assert "written 0000132, two digits swapped" in swapped.best.explanation
    assert swapped.best.confidence < exact.best.confidence


def test_a_transposed_reading_that_nothing_corroborates_is_ignored():
    # given another customer's invoice 123 of a different amount, and the remittance "0000132"
    ctx = context(invoice(123, customer=INITECH, amount="75.00"))
    # when Acme pays 1,500.00
    result = match_payment(payment("1500.00", payer="Acme", lines=[RemittanceLine("132")]), ctx)
    # then Initech's invoice is not a candidate
    assert all(123 not in paid_to(c) for c in result.candidates)
    assert result.outcome == Outcome.UNMATCHED


def test_a_typo_that_is_another_customers_invoice_loses_to_the_reading_the_payer_fits():
    # given Initech's invoice 123 of 75.00 and Acme's invoice 132 of 1,500.00
    ctx = context(invoice(123, customer=INITECH, amount="75.00"), invoice(132))
    # when Acme pays 1,500.00 writing "0000123" (a typo for 0000132)
    pay = payment("1500.00", payer="Acme Corporation", lines=[RemittanceLine("0000123")])
    result = match_payment(pay, ctx)
    # then Acme's invoice comes first, and Initech's is at most a distant second
    assert paid_to(result.best) == {132: D("1500.00")}
    assert result.best.customer_id == ACME
    others = [c for c in result.candidates if 123 in paid_to(c)]
    assert others and others[0].confidence < result.best.confidence
    assert "another customer" in others[0].explanation


# --- bundles ------------------------------------------------------------------------------


def test_one_payment_paying_three_named_invoices_applies_automatically():
    # given three invoices, each named on its own remittance line with its amount
    ctx = context(
        invoice(1, amount="100.00"), invoice(2, amount="250.50"), invoice(3, amount="49.50")
    )
    lines = [
        RemittanceLine(f"INV-000000{i}", paid=D(a))
        for i, a in ((1, "100"), (2, "250.50"), (3, "49.50"))
    ]
    # when 400.00 arrives
    result = match_payment(payment("400.00", lines=lines), ctx)
    # then all three are paid in full, automatically
    assert result.outcome == Outcome.AUTO
    assert paid_to(result.best) == {1: D("100.00"), 2: D("250.50"), 3: D("49.50")}
    assert "remittance amounts add up to the payment" in result.best.explanation


def test_three_invoices_found_by_amount_combination_alone():
    # given five open invoices of a known payer, no reference
    amounts = {1: "120.00", 2: "330.00", 3: "75.25", 4: "980.00", 5: "44.75"}
    ctx = context(*(invoice(i, amount=a) for i, a in amounts.items()))
    # when 525.25 arrives (120.00 + 330.00 + 75.25)
    result = match_payment(payment("525.25", payer="ACME CORPORATION"), ctx)
    # then those three are suggested together
    assert result.outcome == Outcome.SUGGESTED
    assert paid_to(result.best) == {1: D("120.00"), 2: D("330.00"), 3: D("75.25")}
    assert "amount equals 3 open invoices together" in result.best.explanation


def test_the_combination_search_stops_at_its_size_limit():
    values = [100] * 7
    assert find_combinations(values, 700, 0, max_size=7)[0]
    assert find_combinations(values, 700, 0, max_size=6)[0] == []


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(1, 60), max_size=9),
    st.integers(1, 200),
    st.sampled_from([0, 1, 3]),
    st.integers(1, 6),
)
def test_the_combination_search_finds_what_brute_force_finds(values, target, tolerance, most):
    # given small invoice amounts in cents  # when searched without a budget
    found, _ = find_combinations(
        values, target, tolerance, max_size=most, limit=10**6, budget=10**9
    )
    # then every subset of 2..most values within the tolerance, each once
    expected = {
        c
        for k in range(2, most + 1)
        for c in combinations(range(len(values)), k)
        if abs(sum(values[i] for i in c) - target) <= tolerance
    }
    assert sorted(found) == sorted(expected)


def test_the_combination_search_gives_up_at_its_node_budget():
    # twenty equal invoices and a target no subset reaches: the worst case, cut short
    found, visited = find_combinations([3] * 20, 17, 0, max_size=6, budget=100)
    assert found == [] and visited == 101


# --- discounts, shorts, overpayments ------------------------------------------------------


def test_a_discount_taken_on_time_is_granted():
    ctx = context(invoice(123, discount="30.00", until=ON_TIME))
    result = match_payment(
        payment("1470.00", payer="Acme Corp", lines=[RemittanceLine("INV-0000123")], on=ON_TIME),
        ctx,
    )
    alloc = result.best.allocations[0]
    assert result.outcome == Outcome.AUTO
    assert (alloc.amount, alloc.discount, alloc.short) == (D("1470.00"), D("30.00"), 0)
    assert "less 2 % discount 30.00" in result.best.explanation


def test_a_discount_taken_late_is_a_short_payment_and_never_automatic_alone():
    ctx = context(invoice(123, discount="30.00", until=ON_TIME))
    result = match_payment(
        payment("1470.00", payer="Acme Corp", lines=[RemittanceLine("INV-0000123")], on=LATE),
        ctx,
    )
    alloc = result.best.allocations[0]
    assert (alloc.amount, alloc.discount, alloc.short) == (D("1470.00"), 0, D("30.00"))
    assert alloc.reason_code == Reason.LATE_DISCOUNT
    assert "taken after 2024-03-10: a short payment" in result.best.explanation


def test_a_discount_claimed_late_on_the_remittance_is_left_open():
    ctx = context(invoice(123, discount="30.00", until=ON_TIME))
    line = RemittanceLine("INV-0000123", paid=D("1470.00"), discount=D("30.00"))
    result = match_payment(payment("1470.00", lines=[line], on=LATE), ctx)
    alloc = result.best.allocations[0]
    assert (alloc.discount, alloc.short, alloc.reason_code) == (0, D("30.00"), "late_discount")


def test_discounts_taken_on_some_of_the_named_invoices_are_found():
    # given three named invoices; the payer took the discount on the second one only
    ctx = context(
        invoice(1, amount="1000.00", discount="20.00", until=ON_TIME),
        invoice(2, amount="500.00", discount="10.00", until=ON_TIME),
        invoice(3, amount="300.00"),
    )
    lines = [RemittanceLine(f"INV-000000{i}") for i in (1, 2, 3)]
    # when 1,790.00 arrives on time
    result = match_payment(payment("1790.00", payer="Acme", lines=lines, on=ON_TIME), ctx)
    # then only the second invoice gets its discount, and all three are settled
    assert result.outcome == Outcome.AUTO
    assert [(a.invoice_id, a.amount, a.discount) for a in result.best.allocations] == [
        (1, D("1000.00"), 0),
        (2, D("490.00"), D("10.00")),
        (3, D("300.00"), 0),
    ]


def test_a_split_across_named_invoices_that_nothing_explains_is_never_automatic():
    # given two named invoices and a payment that is neither their total nor a discount of it
    ctx = context(invoice(1, amount="1000.00"), invoice(2, amount="500.00"))
    lines = [RemittanceLine("INV-0000001"), RemittanceLine("INV-0000002")]
    # when 1,200.00 arrives from the customer itself
    result = match_payment(payment("1200.00", payer="Acme Corporation", lines=lines), ctx)
    # then the oldest-first split is only a suggestion, and the reason says why
    assert result.outcome == Outcome.SUGGESTED
    assert result.best.applied == D("1200.00")
    assert any("is a guess" in r for r in result.reasons)


def test_a_short_payment_with_a_reason_code_leaves_the_rest_open_and_marked():
    # given a remittance that deducts 100.00 for damaged goods
    ctx = context(invoice(123))
    line = RemittanceLine(
        "INV-0000123", paid=D("1400.00"), adjustment=D("100.00"), reason_code="CS"
    )
    # when matched
    result = match_payment(payment("1400.00", payer="Acme", lines=[line]), ctx)
    # then 1,400.00 is applied, 100.00 stays open with the reason, nothing is written off
    alloc = result.best.allocations[0]
    assert result.outcome == Outcome.AUTO
    assert (alloc.amount, alloc.discount, alloc.short, alloc.reason_code) == (
        D("1400.00"),
        0,
        D("100.00"),
        "CS",
    )
    assert "100.00 deducted (reason CS), left open" in result.best.explanation


def test_an_overpayment_pays_the_invoice_and_leaves_the_rest_unapplied():
    ctx = context(invoice(123))
    pay = payment("1600.00", payer="Acme Corp", lines=[RemittanceLine("INV-0000123")])
    result = match_payment(pay, ctx)
    assert paid_to(result.best) == {123: D("1500.00")}
    assert result.best.unapplied == D("100.00")
    assert "100.00 unapplied, on account" in result.best.explanation
    # an overpayment is an exception: an analyst decides between on account and a refund
    assert result.outcome == Outcome.SUGGESTED
    assert any("left unapplied" in r for r in result.reasons)


def test_a_payment_a_cent_short_leaves_the_cent_open_within_tolerance():
    ctx = context(invoice(123))
    result = match_payment(payment("1499.99", lines=[RemittanceLine("INV-0000123")]), ctx)
    alloc = result.best.allocations[0]
    assert (alloc.amount, alloc.short, alloc.reason_code) == (D("1499.99"), D("0.01"), "tolerance")


# --- payers ------------------------------------------------------------------------------


def test_a_parent_company_pays_its_subsidiarys_invoice():
    # given an invoice of Globex's European subsidiary
    ctx = context(invoice(77, customer=GLOBEX_EU, amount="2000.00"))
    # when Globex Group pays its amount with no reference
    result = match_payment(payment("2000.00", payer="GLOBEX GROUP", account=""), ctx)
    # then the subsidiary's invoice is the candidate, from the parent, and it says so
    assert paid_to(result.best) == {77: D("2000.00")}
    assert result.best.customer_id == GLOBEX
    assert "the parent company" in result.best.explanation
    assert customers_for_payment(payment("1", payer="Globex Group"), ctx) == {GLOBEX, GLOBEX_EU}


def test_payer_names_normalise_legal_forms_case_and_punctuation():
    assert normalise_name("ACME CORP.") == normalise_name("Acme Corporation") == "acme"
    assert normalise_name("Initech, L.L.C.") == "initech"
    assert normalise_name("ACME CORPORATI") == "acme"  # cut short by the bank
    assert normalise_name("Smith & Sons Ltd") == "smith and sons"


def test_a_misspelt_payer_name_matches_fuzzily_with_its_score():
    hits = NameIndex(CUSTOMERS).lookup("Initeck", cutoff=80)
    assert [h.customer_id for h in hits] == [INITECH]
    assert 80 <= hits[0].score < 100


def test_only_fuzzy_answers_are_remembered_and_they_do_not_change():
    index = NameIndex(CUSTOMERS)
    # exact names, however spelt, are the index's own: a worker's memory does not grow by them
    for spelling in ("ACME CORP.", "Acme Corporation", "acme corp payables", "Globex Group"):
        assert index.lookup(spelling)[0].score == 100
    assert index._cache == {}
    first = index.lookup("Initeck", cutoff=80)
    assert list(index._cache) == [("initeck", 80)]
    # the remembered answer is the one searched; a spelling that normalises alike shares it
    assert index.lookup("INITECK, INC.", cutoff=80) == first
    assert list(index._cache) == [("initeck", 80)]
    # a lower cutoff is a search of its own: the answer at 80 left out what scores below it
    assert index.lookup("Initeck", cutoff=50) != ()
    assert list(index._cache) == [("initeck", 80), ("initeck", 50)]


WORDS = [
    "acme",
    "atlas",
    "beacon",
    "cascade",
    "cedar",
    "compass",
    "copper",
    "crescent",
    "eagle",
    "falcon",
    "frontier",
    "gateway",
    "harbor",
    "heritage",
    "horizon",
    "juniper",
    "kestrel",
    "landmark",
    "liberty",
    "oak",
    "pioneer",
    "quarry",
    "ridge",
    "summit",
    "tide",
    "union",
    "valley",
    "willow",
    "supply",
    "trading",
    "logistics",
    "foods",
    "medical",
    "parts",
    "tools",
    "labs",
]


def _every_name_scored(customers, payer: str, cutoff: int, limit: int = 5):
    """What a look-up must answer, found the slow way: every customer name and alias scored,
    equal scores in the order the index was built from, the best twenty kept, then each
    customer's best."""
    from rapidfuzz import fuzz

    from receivables.matching.names import _token_sorted

    norm = normalise_name(payer)
    names = [
        (customer.id, shown)
        for customer in sorted(customers, key=lambda c: c.id)
        for shown in (customer.name, *customer.aliases)
    ]
    exact = [(cid, shown) for cid, shown in names if normalise_name(shown) == norm]
    if exact:
        owners = dict(reversed(exact))  # a customer's first name that normalises alike
        return [(cid, 100, shown) for cid, shown in sorted(owners.items())][:limit]
    scored = [
        (fuzz.ratio(_token_sorted(norm), _token_sorted(normalise_name(shown))), n, cid, shown)
        for n, (cid, shown) in enumerate(names)
    ]
    kept = sorted((s for s in scored if s[0] >= cutoff), key=lambda s: (-s[0], s[1]))[:20]
    best = {}
    for score, _, cid, shown in kept:
        score = min(int(score), 99)
        if cid not in best or score > best[cid][1]:
            best[cid] = (cid, score, shown)
    found = sorted(best.values(), key=lambda hit: (-hit[1], hit[0]))
    return [hit for hit in found if hit[1] >= cutoff][:limit]


def _spelt_customers(seed: int):
    """1,200 customers of random words, and 753 ways their payers write them."""
    import random

    rng = random.Random(seed)
    customers = []
    for cid in range(1, 1201):
        name = " ".join(rng.sample(WORDS, rng.randint(1, 4))).title()
        aliases = (f"{name} Payables",) if cid % 7 == 0 else ()
        customers.append(
            CustomerInfo(cid, f"{name} {rng.choice(['Inc', 'LLC', 'Co'])}", aliases=aliases)
        )
    spellings = []
    for customer in rng.sample(customers, 150):
        name = customer.name
        spellings += [
            name.upper()[: rng.randint(8, 16)],  # cut short by the bank
            name.replace("a", "e", 1),  # misspelt
            name[1:],
            name + " Holdings Group",
            " ".join(reversed(name.split())),
        ]
    spellings += ["Zzyzx Unknown Partners", "A", "Supply"]
    return customers, spellings


def test_a_look_up_reads_only_the_lengths_its_cutoff_allows_and_answers_the_same():
    customers, spellings = _spelt_customers(7)
    index = NameIndex(customers)
    compared = 0
    for spelling in spellings:
        for cutoff in (60, 85, 95):
            expected = _every_name_scored(customers, spelling, cutoff)
            got = [(h.customer_id, h.score, h.matched) for h in index.lookup(spelling, cutoff)]
            assert got == expected, (spelling, cutoff)
            compared += bool(expected)
    # the spellings found customers at every cutoff: the check compared answers, not emptiness
    assert compared > len(spellings)


def test_a_batchs_spellings_searched_together_answer_as_searched_one_by_one(monkeypatch):
    # given an index, and a batch's payer names: repeated, exact, misspelt and unknown
    customers, spellings = _spelt_customers(11)
    index = NameIndex(customers)
    batch = [*spellings, *spellings[:40], "", "Zzyzx Unknown Partners"]
    # when the batch is looked ahead at the engine's cutoff
    index.look_ahead(batch, 85)
    # then every look-up of it is answered from what was found together, searching nothing
    monkeypatch.setattr(index, "_search", lambda *a: pytest.fail(f"searched again: {a}"))
    compared = 0
    for spelling in batch:
        expected = _every_name_scored(customers, spelling, 85)
        got = [(h.customer_id, h.score, h.matched) for h in index.lookup(spelling, 85)]
        assert got == expected, spelling
        compared += any(score < 100 for _, score, _ in expected)
    # fuzzy answers were among them (an exact name is the index's own, never searched)
    assert compared > 100
    # and a spelling searched together is remembered once, under its normalised name
    assert len(index._cache) == len(
        {normalise_name(s) for s in batch if normalise_name(s)} - set(index._exact_hits)
    )


# --- currency, ambiguity, unknown payers, thresholds --------------------------------------


def test_a_different_currency_is_never_applied_automatically():
    # given a USD invoice named exactly by a EUR payment from its own customer
    ctx = context(invoice(123), accounts={"fp": ACME})
    pay = payment(
        "1500.00", currency="EUR", payer="Acme", account="fp", lines=[RemittanceLine("INV-0000123")]
    )
    # when matched, even with the bar for automatic application at zero
    result = match_payment(pay, ctx, Thresholds(auto=D("0"), suggest=D("0")))
    # then it is suggested, nothing is allocated until converted, and the reason is given
    assert result.outcome == Outcome.SUGGESTED
    assert paid_to(result.best) == {123: 0}
    assert result.best.allocations[0].reason_code == Reason.CURRENCY
    assert any("another currency" in r for r in result.reasons)


def test_two_customers_invoices_of_the_same_amount_without_a_reference_are_ambiguous():
    # given two customers both named Northwind, each with an open invoice of 500.00
    customers = [CustomerInfo(1, "Northwind Inc"), CustomerInfo(2, "Northwind LLC")]
    ctx = context(
        invoice(11, customer=1, amount="500.00"),
        invoice(12, customer=2, amount="500.00"),
        customers=customers,
    )
    # when NORTHWIND pays 500.00, even with a low bar for automatic application
    result = match_payment(payment("500.00", payer="NORTHWIND"), ctx, Thresholds(auto=D("0.5")))
    # then an analyst chooses
    assert result.outcome == Outcome.AMBIGUOUS
    assert {c.customer_id for c in result.candidates[:2]} == {1, 2}


def test_an_unknown_payer_without_a_reference_is_never_guessed():
    # given an open invoice equal to the payment
    ctx = context(invoice(123))
    # when somebody unknown pays that amount with no reference
    result = match_payment(payment("1500.00", payer="ZZ TOP TRADING"), ctx)
    # then nothing is proposed
    assert result.outcome == Outcome.UNMATCHED and result.candidates == ()
    assert "never guessed" in result.reasons[0]


def test_thresholds_change_the_outcome():
    ctx = context(invoice(1, amount="120.00"), invoice(2, amount="330.00"))
    pay = payment("450.00", payer="Acme Corporation")
    confidence = match_payment(pay, ctx).best.confidence
    assert match_payment(pay, ctx).outcome == Outcome.SUGGESTED
    assert match_payment(pay, ctx, Thresholds(auto=confidence)).outcome == Outcome.AUTO
    above = confidence + D("0.01")
    assert match_payment(pay, ctx, Thresholds(suggest=above)).outcome == Outcome.UNMATCHED


def test_the_same_inputs_give_the_same_result_whatever_the_prefetch_order():
    invoices = [invoice(i, amount=a) for i, a in ((1, "100.00"), (2, "200.00"), (3, "300.00"))]
    pay = payment("300.00", payer="Acme", text="re INV 0000002")
    first = match_payment(pay, context(*invoices))
    second = match_payment(pay, context(*reversed(invoices)))
    assert first == second


# --- the money caps, over random payments -------------------------------------------------

CURRENCIES = ("USD", "EUR")
cents = st.integers(min_value=1, max_value=500_000).map(lambda c: D(c) / 100)


@st.composite
def scenarios(draw):
    count = draw(st.integers(min_value=1, max_value=9))
    invoices = []
    for iid in range(1, count + 1):
        amount = draw(cents)
        has_discount = draw(st.booleans())
        invoices.append(
            OpenInvoice(
                id=iid * 7,
                number=f"INV-{iid * 7:07d}",
                customer_id=draw(st.sampled_from([ACME, GLOBEX, GLOBEX_EU, INITECH])),
                currency=draw(st.sampled_from(CURRENCIES)),
                open_amount=amount,
                issued_on=ISSUED,
                due_date=DUE + timedelta(days=draw(st.integers(-40, 40))),
                discount_amount=(amount * D("0.02")).quantize(D("0.01")) if has_discount else D(0),
                discount_until=ON_TIME if has_discount else None,
            )
        )
    chosen = draw(st.lists(st.sampled_from(invoices), max_size=4))
    base = sum((inv.open_amount for inv in chosen), D(0))
    amount = draw(
        st.one_of(st.just(base), cents, st.just(base - D("0.01")), st.just(base + D("7")))
    )
    lines = []
    for inv in draw(st.lists(st.sampled_from(invoices), max_size=5)):
        written = draw(
            st.sampled_from(
                [inv.number, inv.number[4:], inv.number[:-2] + inv.number[-1] + inv.number[-2]]
            )
        )
        lines.append(
            RemittanceLine(
                written,
                paid=draw(st.one_of(st.none(), cents, st.just(inv.open_amount))),
                discount=draw(st.sampled_from([D(0), inv.discount_amount, D("5.00")])),
                adjustment=draw(st.sampled_from([D(0), D("10.00"), inv.open_amount])),
                reason_code=draw(st.sampled_from(["", "CS", "01"])),
            )
        )
    pay = PaymentIn(
        key="P",
        amount=max(amount, D("0.01")),
        currency=draw(st.sampled_from(CURRENCIES)),
        value_date=draw(st.sampled_from([ON_TIME, LATE, ISSUED - timedelta(days=1)])),
        payer_name=draw(
            st.sampled_from(["", "Acme Corp", "GLOBEX GROUP", "Globex Europe", "nobody"])
        ),
        payer_account_fingerprint=draw(st.sampled_from(["", "fp"])),
        free_text=draw(st.sampled_from(["", f"INV {invoices[0].number[4:]}", "payment"])),
        remittance=tuple(lines),
    )
    thresholds = Thresholds(
        auto=draw(st.sampled_from([D("0.5"), D("0.9")])),
        suggest=draw(st.sampled_from([D("0.3"), D("0.5")])),
        margin=draw(st.sampled_from([D("0"), D("0.1")])),
        max_combination=draw(st.integers(2, 6)),
    )
    return invoices, pay, thresholds


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_no_invoice_or_payment_is_ever_over_applied(scenario):
    # given random invoices and a random payment with a random remittance
    invoices, pay, thresholds = scenario
    by_id = {inv.id: inv for inv in invoices}
    # when matched
    result = match_payment(pay, context(*invoices, accounts={"fp": GLOBEX}), thresholds)
    # then no candidate applies beyond an invoice's open amount or beyond the payment
    for candidate in result.candidates:
        ids = [a.invoice_id for a in candidate.allocations]
        assert len(ids) == len(set(ids))
        for a in candidate.allocations:
            assert min(a.amount, a.discount, a.short) >= 0
            assert a.amount + a.discount + a.short <= by_id[a.invoice_id].open_amount
            if by_id[a.invoice_id].currency != pay.currency:
                assert a.amount == 0
        assert candidate.applied <= pay.amount
        assert candidate.unapplied == pay.amount - candidate.applied
        assert D(0) <= candidate.confidence <= D(1)
    # and automatic application only when confident, clearly ahead, and in the same currency
    if result.outcome == Outcome.AUTO:
        best = result.best
        assert best.confidence >= thresholds.auto
        if len(result.candidates) > 1:
            assert best.confidence - result.candidates[1].confidence >= thresholds.margin
        assert all(by_id[a.invoice_id].currency == pay.currency for a in best.allocations)
        assert best.unapplied <= thresholds.amount_tolerance
        assert any(s.name == "amount" for s in best.signals)
