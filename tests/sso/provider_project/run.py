"""Start the test provider: ``python -m tests.sso.provider_project.run PORT``. It migrates its own
SQLite file, makes a signing key, then serves on 127.0.0.1:PORT until stopped."""

import os
import sys

import django
from django.core.management import call_command


def main() -> None:
    port = sys.argv[1]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.sso.provider_project.settings")
    django.setup()
    call_command("migrate", verbosity=0)
    call_command("creatersakey")
    call_command("runserver", f"127.0.0.1:{port}", use_reloader=False, verbosity=0)


if __name__ == "__main__":
    main()
