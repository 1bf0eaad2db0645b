"""The layers: nothing below the services imports them (or the RPC layer, the CLI, the console), and the plain layers
(pipeline, formats, sinks, storage, destinations) import no job queue, RPC or web framework either. Each module's
AST is walked, imports inside functions included, and so are the dotted paths a module names as text (a registry's
`"module:Class"`, an RQ task's `"module.function"`, `importlib.import_module("...")`)."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

BELOW_SERVICES = (
    "engine/jobs",
    "engine/destinations",
    "engine/pipeline",
    "engine/sinks",
    "engine/formats",
    "engine/storage",
    "engine/platforms",
    "engine/catalog",
    "engine/models",
    "engine/net",
    "engine/migrations",
)
ABOVE = ("engine.services", "engine.rpc", "engine.cli", "admin")

PLAIN = ("engine/pipeline", "engine/formats", "engine/sinks", "engine/storage", "engine/destinations")
RUNTIME = ("engine.jobs", "rq", "redis", "grpc", "flask", "flask_admin")

DOTTED = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)+(:[A-Za-z_]\w*)?$")  # a.b.c or a.b:C (a bare word is no path)


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_names(path: Path, root: Path = ROOT) -> Iterator[tuple[int, str]]:
    """(line, dotted module name) of everything the module imports or names as a module path, anywhere in it."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    name = _module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            yield node.lineno, module
            for alias in node.names:  # `from engine import services` imports engine.services
                yield node.lineno, f"{module}.{alias.name}"
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and DOTTED.match(node.value):
            yield node.lineno, node.value.partition(":")[0]


def _under(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def violations(folders: tuple[str, ...], forbidden: tuple[str, ...], root: Path = ROOT) -> list[str]:
    found = []
    for folder in folders:
        for path in sorted((root / folder).rglob("*.py")):
            for line, name in imported_names(path, root):
                if _under(name, forbidden):
                    found.append(f"{path.relative_to(root)}:{line} imports {name}")
    return found


def test_nothing_below_the_services_imports_them_or_what_sits_above() -> None:
    assert violations(BELOW_SERVICES, ABOVE) == []


def test_the_plain_layers_import_no_job_queue_rpc_or_web_framework() -> None:
    assert violations(PLAIN, RUNTIME) == []


def test_every_layer_folder_exists() -> None:
    """A renamed folder would make the checks above pass by checking nothing."""
    for folder in BELOW_SERVICES + PLAIN:
        assert list((ROOT / folder).rglob("*.py")), folder


@pytest.mark.parametrize(
    "source",
    [
        "from engine.services.integrations import open_destination\n",
        "def f():\n    from engine.services import notifications\n",
        "from engine import services\n",
        "import engine.rpc.servicer\n",
        "from admin.jobs import JobsView\n",
        "import importlib\nimportlib.import_module('engine.services.jobs')\n",
        "TASK = 'engine.services.maintenance:maintain'\n",
    ],
)
def test_the_check_finds_an_upward_import(tmp_path: Path, source: str) -> None:
    module = tmp_path / "engine" / "jobs" / "bad.py"
    module.parent.mkdir(parents=True)
    module.write_text(source)
    assert violations(("engine/jobs",), ABOVE, root=tmp_path), source


def test_the_check_resolves_relative_imports(tmp_path: Path) -> None:
    module = tmp_path / "engine" / "jobs" / "kinds" / "bad.py"
    module.parent.mkdir(parents=True)
    module.write_text("from ...services import jobs\n")
    found = violations(("engine/jobs",), ABOVE, root=tmp_path)
    assert found[0] == "engine/jobs/kinds/bad.py:1 imports engine.services"


def test_prose_naming_a_layer_is_not_an_import(tmp_path: Path) -> None:
    module = tmp_path / "engine" / "jobs" / "fine.py"
    module.parent.mkdir(parents=True)
    module.write_text('"""Called by engine.services.jobs, which sits above."""\nfrom engine.models import ExportJob\n')
    assert violations(("engine/jobs",), ABOVE, root=tmp_path) == []
