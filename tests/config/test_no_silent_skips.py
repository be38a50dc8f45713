"""CODA_REQUIRE_SERVICES=1 (CI) turns every skip into a failure; without it a skip stays a skip."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROBE = '''
import pytest

def test_runs():
    assert True

def test_skips_for_a_missing_service():
    pytest.skip("no browser here")

@pytest.mark.skipif(True, reason="needs PostgreSQL")
def test_skipif():
    pass

@pytest.mark.xfail(reason="known bug", strict=True)
def test_expected_failure():
    assert False
'''


def run_probe(tmp_path, require: str) -> subprocess.CompletedProcess:
    (tmp_path / "test_probe.py").write_text(PROBE)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CODA_REQUIRE_SERVICES": require}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:django",
         "-p", "tests.plugins.require_services", "-c", os.devnull, "--rootdir", str(tmp_path), "test_probe.py"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )


def test_a_skip_fails_when_services_are_required(tmp_path):
    result = run_probe(tmp_path, "1")
    assert result.returncode == 1, result.stdout
    # The skip in the test body fails; the skipif (decided at setup) errors: neither passes or hides.
    assert "1 failed, 1 passed, 1 xfailed, 1 error" in result.stdout, result.stdout
    assert "skipped" not in result.stdout.splitlines()[-1]
    assert "would be skipped, but CODA_REQUIRE_SERVICES=1" in result.stdout and "no browser here" in result.stdout


def test_a_skip_stays_a_skip_otherwise(tmp_path):
    result = run_probe(tmp_path, "")
    assert result.returncode == 0, result.stdout
    assert "1 passed, 2 skipped, 1 xfailed" in result.stdout, result.stdout
