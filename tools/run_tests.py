"""Run every test: each notebook under `nbdev_test`, the hostile-input probe suite (`tests/probes.py`), then `pytest tests`.

Ends with one line `N passed, N failed[, N skipped]`: each notebook counts as one test (nbdev_test stops a notebook at
its first failing cell), each probe as one, each pytest item as one. Exits non-zero when anything failed.
Extra nbdev flags (e.g. `slow`) come from the TEST_FLAGS environment variable. With TEST_COLAB=1 every lesson also runs
as a Colab "Run all" in a Colab-like venv (`make test-colab`, one test per notebook), and with TEST_GPU_DRY=1
`tools/gpu_check.py --dry-run` runs as one test. TEST_ONLY=05c_generation,test_decoder runs only the notebooks and pytest
files whose names hold one of the comma-separated words (no probes): a quick rerun while mending one thing.
"""
import os, subprocess, sys, time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

ONLY = [w for w in os.environ.get("TEST_ONLY", "").split(",") if w]

def _picked(name:str)->bool: return not ONLY or any(w in name for w in ONLY)

def notebooks():
    "Notebooks nbdev_test would pick: not starting with `_` or `.`, no checkpoints (and named in TEST_ONLY, when set)."
    nbs = ROOT/"nbs"
    return sorted(p for p in nbs.rglob("*.ipynb")
                  if not any(part.startswith(("_", ".")) for part in p.relative_to(nbs).parts) and _picked(p.name))

def run_notebooks(flags):
    passed, failed = 0, []
    for nb in notebooks():
        t = time.time()
        cmd = ["nbdev_test", "--path", str(nb)] + (["--flags", flags] if flags else [])
        ok = subprocess.run(cmd, cwd=ROOT).returncode == 0
        print(f"{'PASS' if ok else 'FAIL'} {nb.relative_to(ROOT)} ({time.time()-t:.0f}s)", flush=True)
        if ok: passed += 1
        else: failed.append(nb.name)
    return passed, failed

def run_probes():
    "The probe suite in its own process; its last line is `N passed, N failed`."
    res = subprocess.run([sys.executable, str(ROOT/"tests"/"probes.py")], cwd=ROOT, capture_output=True, text=True,
                         timeout=1800)
    print(res.stdout, end="", flush=True)
    last = (res.stdout.strip().splitlines() or [""])[-1].split()
    if len(last) == 4 and last[1] == "passed,": return int(last[0]), int(last[2])
    print(res.stderr[-3000:]); return 0, 1  # the suite itself broke: count one failure

def run_browser():
    "With TEST_BROWSER=1: the widget panel in JupyterLab and headless Chromium (`make test-browser`), one test per check."
    res = subprocess.run([sys.executable, str(ROOT/"tools"/"browser_test.py")], cwd=ROOT, capture_output=True, text=True, timeout=900)
    print(res.stdout, end="", flush=True)
    last = (res.stdout.strip().splitlines() or [""])[-1].split()
    if len(last) == 4 and last[1] == "passed,": return int(last[0]), int(last[2])
    print(res.stderr[-3000:]); return 0, 1

def run_counted(cmd:list, timeout:int)->tuple[int,int]:
    "A script whose last line is `N passed, N failed`; a script that broke counts one failure."
    try: res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired: print(f"timed out: {' '.join(map(str, cmd))}"); return 0, 1
    print(res.stdout, end="", flush=True)
    last = (res.stdout.strip().splitlines() or [""])[-1].split()
    if len(last) == 4 and last[1] == "passed,": return int(last[0]), int(last[2])
    print(res.stderr[-3000:]); return 0, 1

def run_gpu_dry()->tuple[int,int]:
    "`tools/gpu_check.py --dry-run`: every step of the GPU check on tiny shapes, and the JSON it writes has every field."
    import json, tempfile
    out = Path(tempfile.mkdtemp())/"gpu_check.json"
    res = subprocess.run([sys.executable, str(ROOT/"tools"/"gpu_check.py"), "--dry-run", "--out", str(out)], cwd=ROOT,
                         capture_output=True, text=True, timeout=1200)
    fields = {"device", "t4", "bf16", "lora_bf16", "generation", "rationale", "p6", "seconds", "ok"}
    got = json.loads(out.read_text()) if out.exists() else {}
    ok = res.returncode == 0 and fields <= set(got) and len(got["t4"]) == 3
    print(f"{'PASS' if ok else 'FAIL'} gpu_check --dry-run ({got.get('seconds', 0):.0f}s)", flush=True)
    if not ok: print(res.stdout[-3000:], res.stderr[-3000:])
    return int(ok), int(not ok)

def run_pytest(extra):
    xml = ROOT/".test-results"/"pytest.xml"
    xml.parent.mkdir(exist_ok=True)
    if xml.exists(): xml.unlink()
    files = [str(p.relative_to(ROOT)) for p in sorted((ROOT/"tests").glob("test_*.py")) if _picked(p.name)] if ONLY else ["tests"]
    if not files: return 0, 0, 0, 5
    rc = subprocess.run([sys.executable, "-m", "pytest", *files, "-q", "-p", "no:cacheprovider",
                         f"--junitxml={xml}", "--durations=8", *extra], cwd=ROOT).returncode
    if rc == 5: return 0, 0, 0, rc  # no tests collected
    if not xml.exists(): return 0, 1, 0, rc  # pytest itself broke: count one failure
    root = ET.parse(xml).getroot()
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    n = lambda k: sum(int(s.get(k, 0)) for s in suites)
    tests, fail, skip = n("tests"), n("failures") + n("errors"), n("skipped")
    return tests - fail - skip, fail, skip, rc

if __name__ == "__main__":
    flags = os.environ.get("TEST_FLAGS", "")
    nb_passed, nb_failed = run_notebooks(flags)
    pr_passed, pr_failed = run_probes() if not ONLY else (0, 0)
    if os.environ.get("TEST_BROWSER") == "1":
        br_passed, br_failed = run_browser(); pr_passed += br_passed; pr_failed += br_failed
    if os.environ.get("TEST_COLAB") == "1":
        c_passed, c_failed = run_counted([sys.executable, str(ROOT/"tools"/"colab_run.py")], 3600); pr_passed += c_passed; pr_failed += c_failed
    if os.environ.get("TEST_GPU_DRY") == "1":
        g_passed, g_failed = run_gpu_dry(); pr_passed += g_passed; pr_failed += g_failed
    py_passed, py_failed, py_skipped, rc = run_pytest(sys.argv[1:])
    if rc not in (0, 1, 5) and py_failed == 0: py_failed = 1  # interrupted or internal error
    if nb_failed: print("Failed notebooks: " + ", ".join(nb_failed))
    extras = "".join(f" and {n}" for k, n in (("TEST_BROWSER", "browser"), ("TEST_COLAB", "Colab runs"), ("TEST_GPU_DRY", "GPU dry run")) if os.environ.get(k) == "1")
    print(f"notebooks: {nb_passed} passed, {len(nb_failed)} failed; probes{extras}: {pr_passed} passed, {pr_failed} failed; "
          f"pytest: {py_passed} passed, {py_failed} failed, {py_skipped} skipped")
    passed, failed = nb_passed + pr_passed + py_passed, len(nb_failed) + pr_failed + py_failed
    print(f"{passed} passed, {failed} failed" + (f", {py_skipped} skipped" if py_skipped else ""))
    sys.exit(1 if failed else 0)
