"""Structured logs: JSON lines with the correlation id of the message being applied."""

import json
import logging

from core.logs import CorrelationFilter, JsonFormatter, correlated


def test_log_lines_are_json_with_the_correlation_id():
    record = logging.LogRecord(
        "o2c", logging.INFO, __file__, 1, "Order %s imported", ("SO-1",), None
    )
    with correlated("3f1c-corr"):
        CorrelationFilter().filter(record)
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "Order SO-1 imported" and line["correlation_id"] == "3f1c-corr"
    assert line["level"] == "INFO"


def test_requests_carry_a_correlation_id(client):
    response = client.get("/login/", HTTP_X_CORRELATION_ID="abc-123")
    assert response["X-Correlation-ID"] == "abc-123"
    assert client.get("/login/")["X-Correlation-ID"]
