"""A connector page nested thousands of levels deep is refused before parsing, with a reason that
names the limit, instead of a RecursionError in the worker; a normal page still reads."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from integrations.client import PermanentError, fetch_page
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

    def log_message(self, *args):
        pass


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
