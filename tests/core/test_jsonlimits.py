"""JSON read under a size and nesting limit: refused before parsing, with a message that says which
limit, as a ValueError so callers that refuse malformed JSON refuse it too."""

import json

import pytest

from core.jsonlimits import JSONLimitError, json_depth, loads_limited


def nested(levels: int, leaf: str = "1") -> str:
    return "[" * levels + leaf + "]" * levels


def test_a_body_nested_5000_deep_is_refused_without_recursing():
    # given: a body the standard parser cannot read (it recurses once per level)
    body = nested(5000)
    with pytest.raises(RecursionError):
        json.loads(body)
    # when / then
    with pytest.raises(JSONLimitError) as refused:
        loads_limited(body)
    assert refused.value.code == "json_too_deep"
    assert str(refused.value) == "The JSON body nests more than 64 levels deep; the limit is 64."
    assert isinstance(refused.value, ValueError)


def test_depth_counts_objects_and_arrays_and_ignores_brackets_in_strings():
    assert json_depth('{"a": [1, {"b": "[[[{{{"}]}') == 3
    assert json_depth(r'{"a": "quote \" then [[[[", "b": [[]]}') == 3
    assert json_depth('"just text"') == 0
    assert loads_limited(nested(64)) == json.loads(nested(64))
    with pytest.raises(JSONLimitError):
        loads_limited(nested(65))
    with pytest.raises(JSONLimitError):
        loads_limited(nested(3), max_depth=2)


def test_a_body_over_the_size_limit_is_refused_and_bytes_are_read_like_json_loads():
    with pytest.raises(JSONLimitError) as refused:
        loads_limited(b'"' + b"x" * 100 + b'"', max_bytes=100)
    assert refused.value.code == "json_too_large"
    assert str(refused.value) == "The JSON body is 102 bytes; the limit is 100."
    assert loads_limited('{"name": "Zoë"}'.encode("utf-16")) == {"name": "Zoë"}
    assert loads_limited(b'{"a": [1, 2.5]}') == {"a": [1, 2.5]}


def test_malformed_json_is_still_a_plain_value_error():
    with pytest.raises(ValueError) as malformed:
        loads_limited("{not json")
    assert not isinstance(malformed.value, JSONLimitError)
