"""models never imports the web or database stack, nor the validation tools."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import models

FORBIDDEN = ("service", "fastapi", "pydantic", "sqlalchemy", "starlette", "alembic", "validation")


def test_models_imports_only_numerical_libraries() -> None:
    modules = sorted(m.name for m in pkgutil.walk_packages(models.__path__, prefix="models."))
    assert "models.analysis" in modules
    assert "models.schedule.identification" in modules  # subpackages' modules are walked too
    script = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r})\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
