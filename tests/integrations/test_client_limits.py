"""A connector page nested thousands of levels deep is refused before parsing, with a reason that
names the limit, instead of a RecursionError in the worker; a normal page still reads."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from integrations.client import PermanentError, fetch_page, post
from integrations.models import Connector

pytestmark = pytest.mark.django_db

DEEP = ("[" * 5000 + "]" * 5000).encode()


class _Upstream(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's name)
        body = DEEP if self.path.startswith("/erp/deep") else b'{"records": [{"id": "A-1"}]}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = ANSWERS[self.path]
        self.send_response(204 if body is None else 200)
        if body is not None:
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body is not None:
            self.wfile.write(body)

    def log_message(self, *args):
        pass


#: What the upstream answers a post to each path (None: 204 No Content).
ANSWERS = {
    "/erp/list": b"[]",
    "/erp/null": b"null",
    "/erp/text": b'"OK"',
    "/erp/empty": None,
    "/erp/blank": b"",
    "/erp/ok": b'{"reference": "ERP-1"}',
}


@pytest.fixture
def upstream():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Upstream)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_page_nested_5000_levels_deep_is_refused_with_its_reason(upstream):
    # given a connector whose upstream answers with a body nested 5,000 levels deep
    connector = Connector.objects.create(name="deep-erp", kind="erp", base_url=upstream)
    # when it is read  # then it is a permanent error naming the limit, not a RecursionError
    with pytest.raises(PermanentError, match="nests more than 64 levels"):
        fetch_page(connector, "deep", "")
    # and a normal page from the same upstream still reads
    assert fetch_page(connector, "orders", "").records == [{"id": "A-1"}]


def test_an_answer_that_is_no_json_object_is_refused_and_an_empty_one_accepted(upstream):
    connector = Connector.objects.create(name="odd-erp", kind="erp", base_url=upstream)
    # an answer the relay could not read a field of is a permanent error naming it (the relay
    # dead-letters that message and goes on), not an AttributeError stopping the relay
    for path, kind in [("list", "list"), ("null", "NoneType"), ("text", "str")]:
        with pytest.raises(
            PermanentError, match=rf"answer to erp/{path} is not a JSON object \(a {kind}\)"
        ):
            post(connector, f"erp/{path}", {"number": "INV-1"})
    # a 204 is accepted, with nothing to say; an empty 200 (a proxy's, say) is no answer
    assert post(connector, "erp/empty", {"number": "INV-1"}) == {}
    with pytest.raises(PermanentError, match="is not JSON"):
        post(connector, "erp/blank", {"number": "INV-1"})
    assert post(connector, "erp/ok", {"number": "INV-1"}) == {"reference": "ERP-1"}
