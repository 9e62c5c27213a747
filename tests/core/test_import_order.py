"""Imports point one way: sso -> insights -> triage -> integrations -> dunning -> cases -> receivables -> billing -> exceptions -> orders -> core.

A package may import from packages to its right, never to its left; ``core`` imports no app;
no app imports the project wiring (``o2c``, settings aside) or the demo. Every import counts,
the ones inside functions too: a lazy import is still a dependency.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: The product's packages, lowest first; each may import only those before it.
LAYERS = (
    "core",
    "orders",
    "exceptions",
    "billing",
    "receivables",
    "cases",
    "dunning",
    "integrations",
    "triage",
    "insights",
    "sso",
)
#: Packages above every app: they may import any app, and no app may import them.
ABOVE = ("o2c", "demo", "bench")
#: What an app may still import from above: settings are read through django.conf anyway.
ALLOWED_FROM_ABOVE = ("o2c.settings",)


def _imported(module: Path, root: Path) -> list[tuple[int, str]]:
    """(line, dotted name) of every import in ``module``, relative ones resolved."""
    parts = module.relative_to(root).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    found = []
    for node in ast.walk(ast.parse(module.read_text(), filename=str(module))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from the module's own package, up ``level - 1``
                base = parts[: len(parts) - node.level + (module.name == "__init__.py")]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            found.append((node.lineno, name))
    return found


def violations(root: Path) -> list[str]:
    """Every import under ``root`` that points the wrong way, as ``path:line: what``."""
    found = []
    for rank, package in enumerate(LAYERS):
        for module in sorted((root / package).rglob("*.py")):
            for line, name in _imported(module, root):
                top = name.split(".")[0]
                where = f"{module.relative_to(root)}:{line}"
                if top in LAYERS and LAYERS.index(top) > rank:
                    found.append(f"{where}: {package} imports {name}, which is to its left")
                elif top in ABOVE and not name.startswith(ALLOWED_FROM_ABOVE):
                    found.append(f"{where}: {package} imports {name}, which sits above the apps")
    return found


def test_every_import_points_one_way():
    # given the code as it is  # when every module's imports are read
    found = violations(ROOT)
    # then none points left or up
    assert found == [], "\n".join(found)


def test_every_layer_has_code_to_check():
    # given the layers the order names  # then each is a package here, so none is skipped
    for package in LAYERS:
        assert (ROOT / package / "__init__.py").is_file(), package


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    for package in LAYERS:
        (tmp_path / package).mkdir(exist_ok=True)
    return tmp_path


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"core/errors.py": "from orders.models import Order\n"}, "core imports orders.models"),
        ({"core/x.py": "def f():\n    import billing\n"}, "core imports billing"),
        ({"orders/x.py": "from exceptions import rules\n"}, "orders imports exceptions"),
        ({"billing/x.py": "from o2c.urls import urlpatterns\n"}, "billing imports o2c.urls"),
        ({"integrations/x.py": "from demo.sandbox import data\n"}, "imports demo.sandbox"),
        ({"exceptions/a/b.py": "from ...insights import kpis\n"}, "exceptions imports insights"),
        ({"orders/a/__init__.py": "from ...billing import x\n"}, "orders imports billing"),
    ],
)
def test_an_import_against_the_order_is_found(tmp_path, files, expected):
    # given a tree with one import against the order
    root = _tree(tmp_path, files)
    # when it is checked
    found = violations(root)
    # then that import is named, with its place
    assert len(found) == 1 and expected in found[0], found


def test_imports_that_follow_the_order_pass(tmp_path):
    # given imports to the right, relative imports within a package, settings, and stdlib
    root = _tree(
        tmp_path,
        {
            "insights/x.py": "from integrations.models import Connector\nfrom core import money\n",
            "billing/services/y.py": "from ..models import Invoice\nfrom . import z\n",
            "orders/z.py": "import json\nfrom o2c.settings import base\n",
        },
    )
    # when checked  # then nothing is found
    assert violations(root) == []
