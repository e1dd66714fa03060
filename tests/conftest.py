import os, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent

@pytest.fixture(scope="session")
def root(): return ROOT

def run_cli(*args, env=None, timeout=900):
    "Run the installed `text2sql-ft` command; returns the CompletedProcess."
    return subprocess.run(["text2sql-ft", *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})}, cwd=ROOT)
