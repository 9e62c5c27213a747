"""Who pays: company names for the sandbox customers, the ways a bank writes them, payer bank
accounts (routing + account, fixed per customer) and the strangers who send money unasked."""

import random
import re

# Distinct first words, so two customers never differ by a number alone (as real names do not).
FIRST_WORDS = [
    "Summit", "Harbor", "Keystone", "Granite", "Pioneer", "Allied", "Beacon", "Cascade",
    "Cedar", "Clearwater", "Copper", "Crescent", "Evergreen", "Falcon", "Frontier", "Gateway",
    "Heritage", "Horizon", "Ironwood", "Lakeside", "Liberty", "Maple", "Meridian", "Northstar",
    "Oakridge", "Pinnacle", "Prairie", "Redwood", "Riverbend", "Sterling", "Stonebridge",
    "Sunrise", "Tidewater", "Timberline", "Vanguard", "Westfield", "Willow", "Atlas", "Bayview",
    "Bluestone", "Brookside", "Canyon", "Coastal", "Compass", "Eagle", "Fairview", "Harvest",
    "Highland", "Juniper", "Landmark", "Magnolia", "Midland", "Orchard", "Paragon", "Quarry",
    "Ridgeline", "Silverline", "Union", "Wheatland", "Yellowstone",
]  # fmt: skip
# Added after the first word once every first word is taken (large catalogs).
SECOND_WORDS = [
    "Ridge", "Point", "Creek", "Hill", "Park", "Bay", "Field", "Grove", "Lake", "Mill",
    "Peak", "Rock", "Spring", "Vale", "Wood",
]  # fmt: skip
TRADES = [
    "Foods", "Industrial Supply", "Medical Supply", "Hardware", "Electric", "Plumbing Supply",
    "Trading", "Manufacturing", "Distribution", "Building Products", "Auto Parts", "Packaging",
    "Office Supply", "Laboratories", "Tool & Die", "Marine Supply",
]  # fmt: skip
LEGAL_FORMS = ["Inc.", "LLC", "Corp.", "Co.", "Ltd.", "Corporation", "Incorporated", "Inc."]

# How banks and clerks shorten words and legal forms.
ABBREVIATIONS = {
    "Industrial": "Ind", "Medical": "Med", "Supply": "Sply", "Trading": "Trdg",
    "Manufacturing": "Mfg", "Distribution": "Dist", "Building": "Bldg", "Products": "Prods",
    "Electric": "Elec", "Hardware": "Hdwe", "Plumbing": "Plbg", "Laboratories": "Labs",
    "Packaging": "Pkg", "Office": "Ofc", "Marine": "Mar", "International": "Intl",
    "Holdings": "Hldgs",
}  # fmt: skip
OTHER_FORMS = {
    "Inc.": "Incorporated", "Incorporated": "Inc", "Corp.": "Corporation", "Corporation": "Corp",
    "Co.": "Company", "LLC": "L.L.C.", "Ltd.": "Limited",
}  # fmt: skip

# Strangers: words no sandbox customer's name uses, and people paying from their own account.
STRANGER_WORDS = ["Quimby", "Zephyr", "Bright Path", "Nova", "Kestrel", "Obsidian", "Larkspur"]
STRANGER_TRADES = ["Consulting", "Logistics", "Property Mgmt", "Catering", "Design Studio"]
PEOPLE = ["J SMITH", "MARIA GARCIA", "R PATEL", "CHEN WEI", "D O'BRIEN", "A NOWAK"]

# Federal Reserve routing symbols (first two digits) of real districts: 01-12 and thrifts 21-32.
_DISTRICTS = [f"{n:02d}" for n in (*range(1, 13), *range(21, 33))]


def company_names(count: int, rng: random.Random) -> list[str]:
    """``count`` distinct company names, e.g. "Summit Foods Inc."."""
    names: list[str] = []
    for n in range(count):
        first = FIRST_WORDS[n % len(FIRST_WORDS)]
        if n >= len(FIRST_WORDS):
            first += " " + SECOND_WORDS[(n // len(FIRST_WORDS) - 1) % len(SECOND_WORDS)]
            if n >= len(FIRST_WORDS) * (len(SECOND_WORDS) + 1):
                first += f" {n // (len(FIRST_WORDS) * (len(SECOND_WORDS) + 1)) + 1}"
        names.append(f"{first} {rng.choice(TRADES)} {rng.choice(LEGAL_FORMS)}")
    return names


def holding_name(name: str) -> str:
    """A parent company's name from its own first word: "Summit Holdings Corp."."""
    first = name.split()[0]
    return f"{first} Holdings {('Corp.', 'Inc.', 'LLC')[sum(map(ord, first)) % 3]}"


def routing_number(rng: random.Random) -> str:
    """A nine-digit ABA routing number whose check digit holds (3-7-1 weights)."""
    digits = rng.choice(_DISTRICTS) + "".join(str(rng.randrange(10)) for _ in range(6))
    weights = (3, 7, 1, 3, 7, 1, 3, 7)
    check = (10 - sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 10) % 10
    return digits + str(check)


def account_number(rng: random.Random) -> str:
    """A 10 to 12 digit account number (no leading zero: no invoice number looks like it)."""
    return str(rng.randrange(1, 10)) + "".join(
        str(rng.randrange(10)) for _ in range(rng.randint(9, 11))
    )


def payer_account(rng: random.Random) -> str:
    """How every statement format here reports a payer's account: routing/account."""
    return f"{routing_number(rng)}/{account_number(rng)}"


def name_variant(name: str, rng: random.Random) -> tuple[str, str]:
    """(the name as a payer or bank wrote it, how it differs): another legal form, an
    abbreviation, a leading "The", the legal form dropped, or cut at 16 characters (NACHA's
    company-name field)."""
    words = name.split()
    ways = ["legal_form", "the", "dropped_form", "cut"]
    if any(w in ABBREVIATIONS for w in words):
        ways.append("abbreviation")
    way = rng.choice(ways)
    if way == "legal_form" and words[-1] in OTHER_FORMS:
        written = " ".join([*words[:-1], OTHER_FORMS[words[-1]]]).upper()
    elif way == "abbreviation":
        written = " ".join(ABBREVIATIONS.get(w, w) for w in words)
    elif way == "the":
        written = "The " + " ".join(words[:-1])
    elif way == "cut" and len(_plain(name)) > 16:
        written = _plain(name)[:16].rstrip()
    else:
        way = "dropped_form"
        written = " ".join(words[:-1]).upper()
    return written.replace("&", "AND") if rng.random() < 0.5 else written, way


def _plain(name: str) -> str:
    """Upper case without punctuation, as ACH company names are keyed."""
    return re.sub(r"\s+", " ", re.sub(r"[^A-Za-z0-9& ]", "", name)).upper()


def bank_written(name: str) -> str:
    """The payer's name as a US bank prints it on a statement: upper case, no punctuation."""
    return _plain(name)


def stranger(rng: random.Random) -> str:
    """A payer no customer record knows: a small company or a person."""
    if rng.random() < 0.4:
        return rng.choice(PEOPLE)
    return f"{rng.choice(STRANGER_WORDS)} {rng.choice(STRANGER_TRADES)} {rng.choice(LEGAL_FORMS)}"
