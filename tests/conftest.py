import os, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent

@pytest.fixture(scope="session")
def root(): return ROOT

@pytest.fixture(scope="session")
def toy_dir(tmp_path_factory):
    "A toy model and tokenizer saved to a folder (2-layer Llama, tokenizer trained in a second): what CLI tests train."
    from text2sql_ft.toy import save_toy
    return save_toy(tmp_path_factory.mktemp("toy")/"model")

def run_cli(*args, env=None, timeout=900):
    "Run the installed `text2sql-ft` command; returns the CompletedProcess."
    return subprocess.run(["text2sql-ft", *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})}, cwd=ROOT)
