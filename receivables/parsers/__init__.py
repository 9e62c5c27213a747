"""Cash application intake: bank statements, lockbox files and addenda as plain records.

Pure parsing, no database: each parser takes the file's bytes (or text) and returns frozen
``Statement`` records, or raises ``ParseError`` naming the line and field.
"""

from .addenda import parse_addenda
from .bai2 import parse_bai2
from .camt053 import parse_camt053
from .lockbox import parse_lockbox
from .records import METHODS, Entry, ParseError, RemittanceLine, Statement, entry_key

#: Format name -> parser, for a caller that stores the format beside the file.
PARSERS = {"bai2": parse_bai2, "camt.053": parse_camt053, "lockbox": parse_lockbox}

__all__ = [
    "METHODS",
    "PARSERS",
    "Entry",
    "ParseError",
    "RemittanceLine",
    "Statement",
    "entry_key",
    "parse_addenda",
    "parse_bai2",
    "parse_camt053",
    "parse_lockbox",
]
