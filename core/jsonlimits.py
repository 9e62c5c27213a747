"""JSON read with limits on size and nesting, so a hostile body is a clear refusal, not a 500: the
parser recurses once per level and a few thousand levels raise ``RecursionError``."""

import json
import re
from itertools import accumulate
from typing import Any

#: Deeper than any record o2c reads (an order with its lines is four or five levels).
MAX_DEPTH = 64
#: One pushed record or API request; connector pages pass their own, larger limit.
MAX_BYTES = 1_000_000

# A JSON string, escapes included; brackets inside strings are text, not nesting.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


class JSONLimitError(ValueError):
    """The body is larger or nested deeper than allowed. A ValueError, so code that already
    refuses malformed JSON refuses this too; ``code`` names which limit, for the API's body."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def json_depth(text: str) -> int:
    """How deeply ``text``'s arrays and objects nest, read without parsing (and so without
    recursion): the brackets outside strings, summed in C by ``accumulate``."""
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


def check_limits(
    data: bytes | str, *, max_depth: int = MAX_DEPTH, max_bytes: int = MAX_BYTES
) -> str:
    """``data`` as text, or ``JSONLimitError`` when it is over ``max_bytes`` or nests deeper than
    ``max_depth``. Bytes are decoded as ``json.loads`` would (UTF-8, -16 or -32)."""
    size = len(data) if isinstance(data, bytes) else len(data.encode())
    if size > max_bytes:
        raise JSONLimitError(
            f"The JSON body is {size:,} bytes; the limit is {max_bytes:,}.",
            code="json_too_large",
        )
    text = data.decode(json.detect_encoding(data)) if isinstance(data, bytes) else data
    if json_depth(text) > max_depth:
        raise JSONLimitError(
            f"The JSON body nests more than {max_depth} levels deep; the limit is {max_depth}.",
            code="json_too_deep",
        )
    return text


def loads_limited(
    data: bytes | str, *, max_depth: int = MAX_DEPTH, max_bytes: int = MAX_BYTES, **kwargs
) -> Any:
    """``json.loads`` that refuses, before parsing, a body over ``max_bytes`` or nested over
    ``max_depth`` (``JSONLimitError``); malformed JSON raises ``ValueError`` as before."""
    return json.loads(check_limits(data, max_depth=max_depth, max_bytes=max_bytes), **kwargs)
