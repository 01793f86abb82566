"""Tracing is optional: off, dlrhub needs no OpenTelemetry SDK; on without it, the settings refuse to start."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import dlrhub as package
from dlrhub import settings
from dlrhub.core import errors

#: Imports the modules that trace and runs the facade, then lists the OpenTelemetry modules dlrhub imported.
PROBE = """
import sys
from dlrhub.adapters import tracing
print(sorted(m for m in sys.modules if m.startswith("opentelemetry")))
from dlrhub.api import app
from dlrhub.workers import dispatcher, zalo_channel
with tracing.span("x", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", a=1):
    assert tracing.inject() is None
"""


#: A `sitecustomize` that makes the OpenTelemetry SDK's imports fail, as on an install without the `otel` extra
#: (the API stays: FastAPI itself requires it).
BLOCKER = """
import sys


class _NoOpenTelemetry:
    def find_spec(self, name, path=None, target=None):
        if name.startswith(("opentelemetry.sdk", "opentelemetry.exporter")):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, _NoOpenTelemetry())
"""


def without_opentelemetry(where: Path) -> Path:
    """A directory whose `sitecustomize` blocks the OpenTelemetry SDK, to put first on PYTHONPATH."""
    where.mkdir(exist_ok=True)
    (where / "sitecustomize.py").write_text(BLOCKER)
    return where


def probe(tmp_path: Path, *, shadow: bool) -> subprocess.CompletedProcess[str]:
    path = [str(Path(package.__file__).parent.parent)]
    if shadow:
        path.insert(0, str(without_opentelemetry(tmp_path / "blocked")))
    env = {"PYTHONPATH": os.pathsep.join(path)}
    return subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=False)


def test_the_facade_imports_no_opentelemetry(tmp_path):
    done = probe(tmp_path, shadow=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_without_opentelemetry_every_traced_module_imports_and_spans_are_no_ops(tmp_path):
    done = probe(tmp_path, shadow=True)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("mode", ["on", "console"])
def test_a_mode_whose_packages_are_missing_is_a_configuration_error(monkeypatch, mode):
    monkeypatch.setattr(settings, "_importable", lambda module: False)
    with pytest.raises(
        errors.ConfigError, match=r"setting tracing \(DLRHUB_TRACING\): .*needs opentelemetry.sdk.*otel extra"
    ):
        settings.load({"DLRHUB_TRACING": mode})


def test_off_needs_nothing_and_a_bad_word_is_refused(monkeypatch):
    monkeypatch.setattr(settings, "_importable", lambda module: False)
    assert settings.load({"DLRHUB_TRACING": "off"}).tracing == "off"
    with pytest.raises(errors.ConfigError, match="tracing"):
        settings.load({"DLRHUB_TRACING": "yes"})
