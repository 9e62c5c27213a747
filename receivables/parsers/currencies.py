"""ISO 4217 currency codes and their minor units, for amounts that carry no decimal point.

BAI2 writes amounts in the currency's smallest unit (cents, or whole yen), and every format
must refuse a code that names no currency. Active codes only; funds and metals are left out.
"""

import re
from decimal import Decimal

from .records import ParseError

_ZERO = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
_THREE = "BHD IQD JOD KWD LYD OMR TND"
_FOUR = "CLF UYW"
_TWO = (
    "AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN BWP BYN "
    "BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP "
    "GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT "
    "LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN "
    "NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE "
    "SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD USN UZS VED VES WST "
    "XCD XCG YER ZAR ZMW ZWG"
)

#: A plainly written amount: digits, and at most one decimal point (ISO 20022 allows five).
_PLAIN = re.compile(r"[0-9]{1,18}(?:\.[0-9]{1,5})?", re.ASCII)

#: Code -> number of digits after the decimal point.
MINOR_UNITS: dict[str, int] = {
    **dict.fromkeys(_TWO.split(), 2),
    **dict.fromkeys(_ZERO.split(), 0),
    **dict.fromkeys(_THREE.split(), 3),
    **dict.fromkeys(_FOUR.split(), 4),
}


def is_currency(code: str) -> bool:
    return code in MINOR_UNITS


def quantum(code: str) -> Decimal:
    """The smallest amount of ``code``: Decimal("0.01") for USD, Decimal("1") for JPY."""
    return Decimal(1).scaleb(-MINOR_UNITS[code])


def checked_currency(code: str, *, line: int | None, field: str) -> str:
    """``code`` if it names an ISO 4217 currency; else the ParseError naming where it stood."""
    if code not in MINOR_UNITS:
        raise ParseError(f"unknown currency code: {code!r}", line=line, field=field)
    return code


def decimal_amount(
    raw: str, currency: str, *, line: int | None, field: str, signed: bool = False
) -> Decimal:
    """A written amount ("1500.00") as an exact Decimal in ``currency``'s minor unit.

    No thousands separators, no exponent, and no sign unless ``signed``: a bank file states
    amounts plainly, and a value that needs guessing is refused rather than read wrong.
    """
    text = raw.strip()
    unsigned = text[1:] if signed and text[:1] == "-" else text
    if not _PLAIN.fullmatch(unsigned):
        raise ParseError(f"not an amount: {raw!r}", line=line, field=field)
    value = Decimal(text)
    step = quantum(currency)
    if value != value.quantize(step):
        raise ParseError(
            f"{raw!r} has more decimals than {currency} allows ({MINOR_UNITS[currency]})",
            line=line,
            field=field,
        )
    return value.quantize(step)
