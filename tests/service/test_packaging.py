"""The Dockerfile, checked without a Docker engine: the wheel it builds, installed in a clean
virtual environment and laid out as its COPY lines say, migrates and serves via its entrypoint,
and its HEALTHCHECK command passes."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from tests.service.servers import free_port, running

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "Dockerfile").read_text()


def runtime_stage() -> str:
    return DOCKERFILE.split("AS runtime", 1)[1]


def test_dockerfile_shape() -> None:
    stages = re.findall(r"^FROM\s+(\S+)\s+AS\s+(\w+)", DOCKERFILE, flags=re.MULTILINE)
    assert [name for _, name in stages] == ["build", "runtime"]
    runtime = runtime_stage()
    assert re.search(r"^USER\s+app\s*$", runtime, flags=re.MULTILINE), "runs as non-root"
    assert "HEALTHCHECK" in runtime
    assert 'ENTRYPOINT ["/app/entrypoint.sh"]' in runtime
    for line in re.findall(r"^COPY\s+(?!--from)(.+)$", DOCKERFILE, flags=re.MULTILINE):
        *sources, _target = line.split()
        for source in sources:
            assert (ROOT / source).exists(), f"Dockerfile copies missing {source}"


@pytest.mark.slow
def test_wheel_installs_migrates_and_serves_like_the_image(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "-w",
            str(wheels),
            str(ROOT),
        ],
        check=True,
    )
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    (wheel,) = wheels.glob("retention_audit-*.whl")
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", str(wheel)], check=True)

    # /app as the runtime stage lays it out.
    app = tmp_path / "app"
    app.mkdir()
    shutil.copytree(ROOT / "alembic", app / "alembic")
    for name in ("alembic.ini", "docker/entrypoint.sh", "docker/healthcheck.py"):
        shutil.copy(ROOT / name, app / Path(name).name)
    port = free_port()
    env = {
        "PATH": f"{env_dir / 'bin'}:{os.environ['PATH']}",
        "RETENTION_AUDIT_DATA_DIR": str(tmp_path / "data"),
        "RETENTION_AUDIT_ALEMBIC_DIR": str(app / "alembic"),
        "PORT": str(port),
        "WORKERS": "1",
    }
    env.pop("DATABASE_URL", None)
    clean_env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "VIRTUAL_ENV")}
    with running(
        [str(app / "entrypoint.sh")],
        env={**clean_env, **env},
        cwd=app,
        ready_url=f"http://127.0.0.1:{port}/readyz",
    ):
        health = subprocess.run(
            [str(python), str(app / "healthcheck.py")], env={**clean_env, **env}, cwd=app
        )
        assert health.returncode == 0
    assert (tmp_path / "data" / "retention-audit.db").is_file()
    # The numerical core imports in the installed package without the web stack loaded.
    probe = "import sys, models.columns; assert 'fastapi' not in sys.modules; print('ok')"
    out = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ok"
