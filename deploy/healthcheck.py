"""Container health probe: ``python deploy/healthcheck.py /health/ready/`` exits 0 when the web
process on this container answers 200, else 1. Standard library only (the image has no curl)."""

import os
import sys
import urllib.error
import urllib.request


def probe_host(allowed_hosts: str) -> str:
    """A Host header Django accepts: the first ALLOWED_HOSTS entry ('.example.com' → 'example.com',
    '*' → 'localhost'), so the probe is not refused as a DisallowedHost."""
    for entry in (part.strip() for part in allowed_hosts.split(",")):
        if entry:
            return "localhost" if entry == "*" else entry.lstrip(".")
    return "localhost"


def main(path: str) -> int:
    port = os.environ.get("O2C_BIND", "0.0.0.0:8000").rsplit(":", 1)[-1]
    request = urllib.request.Request(  # noqa: S310 - a fixed http:// URL on loopback
        f"http://127.0.0.1:{port}{path}",
        headers={"Host": probe_host(os.environ.get("ALLOWED_HOSTS", ""))},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            return 0 if response.status == 200 else 1
    except (urllib.error.URLError, OSError) as exc:
        print(f"{path}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "/health/live/"))
