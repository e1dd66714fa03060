"""`make test-colab`: every lesson run top to bottom as a Colab user's "Run all", in a Colab-like environment.

What it builds (once; `.colab-venv/`, rebuilt when tools/colab-requirements.txt changes):
- a virtual environment with Colab's widget and Jupyter stack (ipywidgets 7.7.1, ipykernel 6, IPython 7), the lowest
  library versions settings.ini allows, a CPU torch, and no nbdev and no fastcore (Colab has neither);
- a stub `google.colab` (`drive.mount` into a temporary folder, `userdata.get("HF_TOKEN")` a dummy token), imported
  before the first cell as Colab's kernel does.

Then each notebook runs in a fresh kernel whose working folder is an empty `content/` (a fresh runtime: no
`../outputs`), every cell in order, the set-up cell included, with one change: it installs this checkout instead of the
Git URL. Cells flagged `#| slow` or `#| gpu` (and `#| eval: false`, which never run) are skipped. After the set-up cell
a check runs that a subprocess (`!text2sql-ft ...`) sees the Colab secret HF_TOKEN. Prints `PASS`/`FAIL` per notebook
and ends with `N passed, N failed`.

What it cannot prove: CUDA itself (fp16 AMP on a T4, bitsandbytes' CUDA kernels, memory on a 15 GB card); that is
`tools/gpu_check.py`, on a GPU.
"""
import hashlib, json, os, re, shutil, subprocess, sys, tempfile, textwrap, time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = Path(os.environ.get("COLAB_VENV", ROOT/".colab-venv"))
REQS = ROOT/"tools"/"colab-requirements.txt"
TORCH = os.environ.get("TORCH", "torch==2.13.0")
DUMMY_TOKEN = "colab-ci-dummy-token"   # what the stub's userdata hands out; never a real token
SKIP = re.compile(r"^#\|\s*(slow|gpu|eval:\s*false)\b", re.M)

STUB = {   # no google/__init__.py: `google` stays a namespace package, so google.protobuf (tensorboard's) still imports
        "google/colab/__init__.py": "from . import drive, userdata\n",
        "google/colab/drive.py": '''"""Stub of google.colab.drive: the mount point becomes a link to a temporary folder with a MyDrive inside."""
import os, tempfile
def mount(mountpoint, force_remount=False, timeout_ms=120000, readonly=False):
    root = tempfile.mkdtemp(prefix="colab-drive-")
    os.makedirs(os.path.join(root, "MyDrive"))
    if os.path.islink(mountpoint): os.unlink(mountpoint)
    os.makedirs(os.path.dirname(os.path.abspath(mountpoint)), exist_ok=True)
    os.symlink(root, mountpoint)
    print(f"Mounted at {mountpoint}")
''',
        "google/colab/userdata.py": f'''"""Stub of google.colab.userdata: one secret, HF_TOKEN, with a dummy value."""
class SecretNotFoundError(Exception): pass
class NotebookAccessError(Exception): pass
def get(key):
    if key == "HF_TOKEN": return {DUMMY_TOKEN!r}
    raise SecretNotFoundError(key)
'''}

TOKEN_CHECK = textwrap.dedent(f'''
    import subprocess as _sp, sys as _sys
    _rc = _sp.run([_sys.executable, "-c", "import os, sys; sys.exit(0 if os.environ.get('HF_TOKEN') == {DUMMY_TOKEN!r} else 1)"]).returncode
    assert _rc == 0, "a subprocess (!text2sql-ft ...) does not see the Colab secret HF_TOKEN after the set-up cell"
''')

def venv_python()->Path: return VENV/"bin"/"python"

def build_venv()->None:
    "Create (or reuse) the Colab-like venv; the stamp is the requirements file's hash."
    stamp, want = VENV/".stamp", hashlib.sha256((REQS.read_text() + TORCH).encode()).hexdigest()
    if stamp.exists() and stamp.read_text() == want and venv_python().exists(): return
    if VENV.exists(): shutil.rmtree(VENV)
    t = time.time()
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    pip = [str(venv_python()), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run(pip + [TORCH], check=True)   # first and pinned: an unpinned torch pulls GBs of CUDA wheels
    subprocess.run(pip + ["-r", str(REQS)], check=True)
    bad = subprocess.run([str(venv_python()), "-c", "import importlib.util as u; print(' '.join(m for m in ('nbdev', 'fastcore', 'text2sql_ft') if u.find_spec(m)))"],
                         capture_output=True, text=True, check=True, cwd=tempfile.gettempdir()).stdout.strip()
    if bad: raise SystemExit(f"the Colab-like venv must not hold {bad} before the lessons run")
    stamp.write_text(want)
    print(f"built {VENV} in {time.time() - t:.0f}s", flush=True)

def fresh_package()->None:
    "Remove text2sql_ft and fastcore from the venv, so the first set-up cell installs them as on a new Colab runtime."
    subprocess.run([str(venv_python()), "-m", "pip", "uninstall", "-y", "-q", "text2sql_ft", "fastcore"], capture_output=True)

def colab_cells(nb:dict)->list:
    "The code cells a Colab 'Run all' executes here: flagged cells dropped, the set-up cell pointed at this checkout."
    cells = []
    for c in nb["cells"]:
        if c["cell_type"] != "code": continue
        src = "".join(c["source"])
        if SKIP.search("\n".join(src.lstrip().splitlines()[:4])): continue
        if c.get("id") == "colab-setup":
            src = re.sub(r"text2sql_ft @ git\+\S+?@\w+", f"text2sql_ft @ {ROOT.as_uri()}", src)
            cells += [src, TOKEN_CHECK]
        else: cells.append(src)
    return cells

def run_notebook(path:Path, stub_dir:Path, timeout:int=1800)->tuple[bool,str]:
    "Run `path`'s cells in a fresh kernel of the venv, in an empty content/ folder; (passed, what failed)."
    work = Path(tempfile.mkdtemp(prefix="colab-run-"))
    content = work/"content"; content.mkdir()
    cells = ["import google.colab"] + colab_cells(json.loads(path.read_text(encoding="utf-8")))
    script = work/"run.py"
    script.write_text(RUNNER.format(cells=json.dumps(cells), cwd=str(content), timeout=timeout))
    env = {k: v for k, v in os.environ.items() if k not in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "PYTHONPATH", "TEST_FLAGS")}
    env["PYTHONPATH"] = str(stub_dir)
    env["PATH"] = f"{VENV/'bin'}:{env.get('PATH', '')}"   # `!text2sql-ft` and `sys.executable` are the venv's
    res = subprocess.run([str(venv_python()), str(script)], env=env, capture_output=True, text=True)
    shutil.rmtree(work, ignore_errors=True)
    return res.returncode == 0, (res.stdout + res.stderr)[-3000:]

# Runs inside the venv: one kernel, the cells in order, stop at the first error (as "Run all" does).
RUNNER = '''
import json, sys
import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
cells = json.loads({cells!r})
nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in cells])
client = NotebookClient(nb, timeout={timeout}, kernel_name="python3", resources={{"metadata": {{"path": {cwd!r}}}}})
try: client.execute()
except CellExecutionError as e:
    print(str(e)[-2500:]); sys.exit(1)
'''

def notebooks()->list:
    return sorted(p for p in (ROOT/"nbs").glob("*.ipynb") if not p.name.startswith(("_", ".")))

def main(names:list)->int:
    build_venv()
    fresh_package()
    stub = Path(tempfile.mkdtemp(prefix="colab-stub-"))
    for rel, text in STUB.items():
        (stub/rel).parent.mkdir(parents=True, exist_ok=True); (stub/rel).write_text(text)
    passed, failed = 0, []
    for nb in [p for p in notebooks() if not names or p.stem in names or p.name in names]:
        t = time.time()
        ok, log = run_notebook(nb, stub)
        print(f"{'PASS' if ok else 'FAIL'} colab {nb.name} ({time.time() - t:.0f}s)", flush=True)
        if ok: passed += 1
        else: failed.append(nb.name); print(log, flush=True)
    shutil.rmtree(stub, ignore_errors=True)
    if failed: print("Failed in the Colab-like run: " + ", ".join(failed))
    print(f"{passed} passed, {len(failed)} failed")
    return 1 if failed else 0

if __name__ == "__main__": sys.exit(main(sys.argv[1:]))
