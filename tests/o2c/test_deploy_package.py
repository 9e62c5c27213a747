"""The production package, checked without Docker (it does not run in CI): compose.yaml names only
this repository's image and official PostgreSQL/Redis, every command it runs exists, workers cover
every queue, beat is single, migrate runs first; the Dockerfile runs as non-root and copies what
exists; deploy/env.example names what production reads; static files are collected hashed."""

import ast
import fnmatch
import json
import os
import re
import shlex
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest
import yaml

from o2c.queues import QUEUES

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
APP_IMAGE = re.compile(r"^o2c:")
OFFICIAL_IMAGE = re.compile(r"^(postgres|redis):[\w.-]+$")
# Read by base settings but not by a production process: DEBUG is forced off, EMAIL_URL wins
# over EMAIL_BACKEND.
NOT_FOR_PRODUCTION = {"DEBUG", "EMAIL_BACKEND"}
ENV_SOURCES = [
    "o2c/settings/base.py",
    "o2c/settings/production.py",
    "o2c/error_tracking.py",
    "deploy/gunicorn.conf.py",
]
_READS = re.compile(
    r"(?:os\.environ\.get|os\.environ\[|os\.getenv|env_bool|env_list)\(?\s*[\"']([A-Z][A-Z0-9_]*)[\"']"
)
_VAR = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)(?::?([-?])([^}]*))?\}")


# --- reading the files ------------------------------------------------------------------------


@cache
def compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


@cache
def env_example() -> tuple[dict[str, str], set[str]]:
    """deploy/env.example → (o2c's names with their values, compose-only names). A commented
    ``# NAME=value`` line names an optional setting."""
    app, compose_only, section = {}, set(), "app"
    for line in (ROOT / "deploy/env.example").read_text().splitlines():
        if line.startswith("# ---") and "compose.yaml only" in line:
            section = "compose"
        match = re.match(r"^#?\s*([A-Z][A-Z0-9_]*)=(.*)$", line)
        if match:
            if section == "compose":
                compose_only.add(match[1])
            else:
                app[match[1]] = match[2]
    return app, compose_only


def interpolate(value: str, env: dict) -> str:
    """Compose's ${NAME}, ${NAME:-default} and ${NAME:?error}, from env."""

    def one(match: re.Match) -> str:
        name, kind, rest = match.groups()
        if env.get(name):
            return env[name]
        if kind == "?":
            raise AssertionError(f"{name} unset: {rest}")
        return rest or ""

    return _VAR.sub(one, value)


@cache
def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile's final stage, continuation lines joined."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines()]
    instructions = [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "")
        for line in lines
        if line and not line.startswith("#")
    ]
    last_from = max(i for i, (op, _) in enumerate(instructions) if op == "FROM")
    return instructions[last_from:]


def dockerfile_env() -> dict[str, str]:
    env = {}
    for op, args in dockerfile():
        if op == "ENV":
            env.update(dict(part.split("=", 1) for part in shlex.split(args)))
    return env


def build_placeholders() -> dict[str, str]:
    """The VAR=value pairs in front of the Dockerfile's collectstatic step."""
    (run,) = [args for op, args in dockerfile() if op == "RUN" and "collectstatic" in args]
    words = shlex.split(run)
    return dict(word.split("=", 1) for word in words[: words.index("python")])


def required_by_production() -> set[str]:
    tree = ast.parse((ROOT / "o2c/settings/production.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.AnnAssign | ast.Assign):
            targets = [node.target] if isinstance(node, ast.AnnAssign) else node.targets
            if any(getattr(t, "id", None) == "REQUIRED" for t in targets):
                return {key.value for key in node.value.keys}
    raise AssertionError("o2c/settings/production.py has no REQUIRED")


def read_by_production() -> set[str]:
    names = set(required_by_production())
    for source in ENV_SOURCES:
        names |= set(_READS.findall((ROOT / source).read_text()))
    # single sign-on reads its variables from the environment mapping it is given
    names |= set(
        re.findall(r'"(O2C_OIDC_[A-Z_]+)"', (ROOT / "o2c/settings/parsing.py").read_text())
    )
    return names


def app_services() -> dict[str, dict]:
    return {
        name: service
        for name, service in compose()["services"].items()
        if APP_IMAGE.match(service.get("image", ""))
    }


def service_env(service: dict) -> dict[str, str]:
    """What a container of the image sees: the image's ENV, .env (the example), then environment."""
    app, compose_only = env_example()
    interpolation = app | dict.fromkeys(compose_only, "x")
    env = dockerfile_env() | app | service.get("environment", {})
    return {key: interpolate(str(value), interpolation) for key, value in env.items()}


def argv(service: dict) -> list[str]:
    app, _ = env_example()
    command = service["command"]
    words = shlex.split(command) if isinstance(command, str) else command
    return [interpolate(str(word), app) for word in words]


def option(words: list[str], name: str) -> str | None:
    for i, word in enumerate(words):
        if word.startswith(f"{name}="):
            return word.split("=", 1)[1]
        if word == name:
            return words[i + 1]
    return None


def run(args: list[str], settings_module: str, **env_extra) -> subprocess.CompletedProcess:
    """A process from the repository root on the image's build placeholders (never a real
    Sentry DSN from this machine's environment)."""
    env = {**os.environ, **build_placeholders(), "DJANGO_SETTINGS_MODULE": settings_module}
    env.pop("SENTRY_DSN", None)
    return subprocess.run(  # noqa: S603 - fixed argv
        args, cwd=ROOT, env=env | env_extra, capture_output=True, text=True, timeout=180
    )


@cache
def management_commands(settings_module: str) -> frozenset[str]:
    """Django's command registry as a process on these settings sees it."""
    result = run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.core.management import get_commands; "
            "print(' '.join(get_commands()))",
        ],
        settings_module,
    )
    assert result.returncode == 0, result.stderr
    return frozenset(result.stdout.split())


def check_command(words: list[str], settings_module: str) -> None:
    """Fail unless the command is one this repository's image can run."""
    program = words[0]
    assert (BIN / program).exists() or program == "python", f"{program} is not installed"
    if program == "python":
        script = words[1]
        assert (ROOT / script).is_file(), f"{script} does not exist"
        if script == "manage.py":
            assert words[2] in management_commands(settings_module), (
                f"manage.py {words[2]} does not exist under {settings_module}"
            )
    elif program == "gunicorn":
        assert option(words, "-c") == "deploy/gunicorn.conf.py"
        assert (ROOT / option(words, "-c")).is_file()
        assert (ROOT / (words[-1].replace(".", "/") + ".py")).is_file(), words[-1]
    elif program == "celery":
        from celery.bin.celery import celery as cli  # noqa: PLC0415

        assert option(words, "-A") == "o2c" and (ROOT / "o2c/celery.py").is_file()
        subcommand = words[words.index(option(words, "-A")) + 1]
        assert subcommand in cli.commands and subcommand in {"worker", "beat"}, subcommand
    else:
        raise AssertionError(f"{program}: not a command this repository provides")


# --- compose.yaml ----------------------------------------------------------------------------


def test_compose_runs_only_this_repositorys_image_and_official_postgres_and_redis():
    services = compose()["services"]
    assert {"postgres", "redis", "migrate", "web", "beat"} <= set(services)
    for name, service in services.items():
        image = service.get("image", "")
        if APP_IMAGE.match(image):
            assert service.get("build") == ".", f"{name}: the o2c image is built from ./Dockerfile"
        else:
            assert OFFICIAL_IMAGE.match(image), f"{name}: {image!r} is not an official image"
            assert "build" not in service, name
    assert (ROOT / "Dockerfile").is_file()


def test_every_command_compose_runs_exists():
    for name, service in app_services().items():
        settings_module = service_env(service)["DJANGO_SETTINGS_MODULE"]
        commands = [argv(service)]
        if "healthcheck" in service:
            assert service["healthcheck"]["test"][0] == "CMD"
            commands.append(argv({"command": service["healthcheck"]["test"][1:]}))
        try:
            for words in commands:
                check_command(words, settings_module)
        except AssertionError as exc:
            raise AssertionError(f"service {name}: {exc}") from exc


def test_a_command_that_does_not_exist_is_caught():
    # the checks above would pass anything if they could not fail
    with pytest.raises(AssertionError, match="manage.py seed_demo does not exist"):
        check_command(["python", "manage.py", "seed_demo"], "o2c.settings.production")
    with pytest.raises(AssertionError, match="not a command"):
        check_command(["pip", "install", "o2c"], "o2c.settings.production")


def test_workers_consume_the_declared_queues_and_together_all_of_them():
    workers = {
        name: argv(service)
        for name, service in app_services().items()
        if argv(service)[:4] == ["celery", "-A", "o2c", "worker"]
    }
    consumed = []
    for name, words in workers.items():
        queues = (option(words, "--queues") or option(words, "-Q") or "").split(",")
        assert queues != [""], f"{name} consumes every queue: name them with --queues"
        assert set(queues) <= set(QUEUES), (
            f"{name}: {set(queues) - set(QUEUES)} not in o2c/queues.py"
        )
        consumed += queues
        assert "%h" in option(words, "--hostname"), f"{name}: hostnames must differ per container"
    assert set(consumed) == set(QUEUES)
    hostnames = [option(words, "--hostname").split("@")[0] for words in workers.values()]
    assert len(hostnames) == len(set(hostnames))


def test_exactly_one_beat_on_the_database_scheduler():
    from django.conf import settings  # noqa: PLC0415

    beats = [
        service
        for service in app_services().values()
        if argv(service)[:4] == ["celery", "-A", "o2c", "beat"]
    ]
    assert len(beats) == 1
    assert beats[0].get("deploy", {}).get("replicas", 1) == 1
    assert "scale" not in beats[0]
    assert "profiles" not in beats[0]
    scheduler = option(argv(beats[0]), "--scheduler") or settings.CELERY_BEAT_SCHEDULER
    assert scheduler == "django_celery_beat.schedulers:DatabaseScheduler"


def test_migrate_runs_once_before_anything_that_reads_the_database():
    services = app_services()
    assert argv(services["migrate"])[:3] == ["python", "manage.py", "migrate"]
    assert services["migrate"]["restart"] == "no"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name, service in services.items():
        if name == "migrate":
            continue
        condition = service.get("depends_on", {}).get("migrate", {}).get("condition")
        assert condition == "service_completed_successfully", name


def test_the_sandbox_sits_behind_a_profile_and_the_desk_does_not():
    services = compose()["services"]
    for name, service in app_services().items():
        runs_demo = service_env(service)["DJANGO_SETTINGS_MODULE"] == "o2c.settings.sandbox"
        assert runs_demo == (service.get("profiles") == ["sandbox"]), name
    assert argv(services["sandbox"])[:3] == ["python", "manage.py", "sandbox"]


def test_health_checks_probe_the_health_endpoints():
    from django.urls import resolve  # noqa: PLC0415

    web = compose()["services"]["web"]
    path = web["healthcheck"]["test"][-1]
    assert path == "/health/ready/"
    assert resolve(path).func.__name__ == "ready"
    (healthcheck,) = [args for op, args in dockerfile() if op == "HEALTHCHECK"]
    assert resolve(json.loads(healthcheck.split("CMD", 1)[1])[-1]).func.__name__ == "live"


def test_every_variable_compose_interpolates_is_in_the_env_example():
    app, compose_only = env_example()
    used = {match[0] for match in _VAR.findall((ROOT / "compose.yaml").read_text())}
    assert used <= set(app) | compose_only, used - set(app) - compose_only
    assert compose_only <= used, f"{compose_only - used} are named for compose but it reads none"


# --- deploy/env.example ------------------------------------------------------------------------


def test_env_example_names_exactly_what_production_reads():
    app, _ = env_example()
    expected = read_by_production() - NOT_FOR_PRODUCTION - set(dockerfile_env())
    assert required_by_production() <= set(app)
    assert set(app) - expected == set(), "named in deploy/env.example but read by nothing"
    assert expected - set(app) == set(), "read by production but missing from deploy/env.example"


def test_env_example_holds_placeholders_not_secrets():
    app, _ = env_example()
    for name in ("SECRET_KEY", "O2C_METRICS_TOKEN", "SENTRY_DSN"):
        assert app[name] in {"", "change-me"}, name
    for name, value in app.items():
        password = re.match(r"^\w+://[^:/@]+:([^@]*)@", value)
        if password:
            assert password[1] == "change-me", f"{name} carries a password"


# --- Dockerfile --------------------------------------------------------------------------------


def test_the_image_runs_as_a_non_root_user_with_gunicorns_config_file():
    users = [args for op, args in dockerfile() if op == "USER"]
    assert users, "no USER: the image would run as root"
    assert users[-1].split(":")[0] not in {"root", "0"}
    ops = [op for op, _ in dockerfile()]
    assert ops.index("USER") > max(i for i, op in enumerate(ops) if op == "RUN")
    (cmd,) = [args for op, args in dockerfile() if op == "CMD"]
    assert json.loads(cmd) == ["gunicorn", "-c", "deploy/gunicorn.conf.py", "o2c.wsgi"]
    check_command(json.loads(cmd), dockerfile_env()["DJANGO_SETTINGS_MODULE"])


def test_dependencies_are_installed_within_the_constraints():
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"pip install -c constraints\.txt \.", text)


def _ignored(path: str, patterns: list[str]) -> bool:
    parts = Path(path).parts
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    return any(
        fnmatch.fnmatch(prefix, pattern.removeprefix("**/"))
        or fnmatch.fnmatch(prefix.rsplit("/", 1)[-1], pattern.removeprefix("**/"))
        for pattern in patterns
        for prefix in prefixes
    )


def test_every_copy_source_exists_and_reaches_the_build():
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    copies = [line.split()[1:] for line in text.splitlines() if line.startswith("COPY ")]
    assert copies
    for words in copies:
        if any(word.startswith("--from") for word in words):
            continue
        for source in [word for word in words if not word.startswith("--")][:-1]:
            if source == ".":
                continue
            assert (ROOT / source).exists(), f"COPY {source}: no such file"
            assert not _ignored(source, patterns), f"COPY {source}: excluded by .dockerignore"
    # what the running image needs is not ignored; what it must not carry is
    for needed in (
        "manage.py",
        "o2c/wsgi.py",
        "deploy/gunicorn.conf.py",
        "deploy/healthcheck.py",
        "static/css/o2c.css",
        "templates/base.html",
        "demo/sandbox/server.py",
    ):
        assert not _ignored(needed, patterns), needed
    for kept_out in (
        ".env",
        ".git/config",
        ".venv/bin/python",
        "data/o2c.sqlite3",
        "tests/conftest.py",
    ):
        assert _ignored(kept_out, patterns), kept_out


def test_the_build_placeholders_satisfy_every_required_setting_and_are_marked():
    placeholders = build_placeholders()
    assert required_by_production() <= set(placeholders)
    assert placeholders["SECRET_KEY"].endswith("not-a-secret")
    assert all("build" in value or value == "dummy://" for value in placeholders.values())


def test_gunicorn_loads_its_config_and_the_app_on_production_settings():
    result = run(
        [str(BIN / "gunicorn"), "--check-config", "-c", "deploy/gunicorn.conf.py", "o2c.wsgi"],
        "o2c.settings.production",
    )
    assert result.returncode == 0, result.stdout + result.stderr


# --- static files, as the image collects them -----------------------------------------------

PAGE_PROBE = """
import django, re
django.setup()
from django.test import Client
client = Client()
page = client.get("/login/", secure=True)
assert page.status_code == 200, page.status_code
css = re.search(r'href="(/static/css/o2c\\.[0-9a-f]{12}\\.css)"', page.content.decode())
print(css[1] if css else "no hashed stylesheet")
if css:
    served = client.get(css[1], secure=True)
    print(served.status_code, served.headers.get("Cache-Control"))
"""


def test_collectstatic_writes_hashed_files_that_pages_link_to(tmp_path):
    # given production settings with the image's build placeholders and a fresh static root
    env = {"O2C_STATIC_ROOT": str(tmp_path), "ALLOWED_HOSTS": "testserver"}

    # when static files are collected, as the Dockerfile does
    collected = run(
        [sys.executable, "manage.py", "collectstatic", "--noinput"],
        "o2c.settings.production",
        **env,
    )

    # then a manifest maps each file to a content-hashed copy, compressed beside it
    assert collected.returncode == 0, collected.stderr
    manifest = json.loads((tmp_path / "staticfiles.json").read_text())["paths"]
    hashed = manifest["css/o2c.css"]
    assert re.fullmatch(r"css/o2c\.[0-9a-f]{12}\.css", hashed)
    assert (tmp_path / hashed).read_bytes() == (ROOT / "static/css/o2c.css").read_bytes()
    assert (tmp_path / f"{hashed}.gz").is_file()

    # and a page links to the hashed name, which is served to be cached for good
    page = run([sys.executable, "-c", PAGE_PROBE], "o2c.settings.production", **env)
    assert page.returncode == 0, page.stderr
    link, served = page.stdout.splitlines()
    assert link == f"/static/{hashed}"
    assert served.startswith("200 ") and "immutable" in served


# --- deploy/healthcheck.py --------------------------------------------------------------------


@pytest.mark.parametrize(("status", "exit_code"), [(200, 0), (503, 1)])
def test_the_health_probe_passes_only_on_200_and_sends_an_allowed_host(status, exit_code):
    import http.server  # noqa: PLC0415
    import threading  # noqa: PLC0415

    seen = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append((self.path, self.headers["Host"]))
            self.send_response(status)
            self.end_headers()

        def log_message(self, *args):
            pass

    # given a web process answering `status` on loopback
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        # when the container's probe runs against it
        result = subprocess.run(  # noqa: S603 - fixed argv
            [sys.executable, "deploy/healthcheck.py", "/health/ready/"],
            cwd=ROOT,
            env={
                **os.environ,
                "O2C_BIND": f"0.0.0.0:{server.server_port}",
                "ALLOWED_HOSTS": ".example.com,o2c.example.com",
            },
            capture_output=True,
            timeout=30,
        )
    finally:
        server.shutdown()

    # then it reports the outcome, having asked with a Host header Django accepts
    assert result.returncode == exit_code
    assert seen == [("/health/ready/", "example.com")]
