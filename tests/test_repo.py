"The repository's own promises: README generated from index.ipynb, module exported from the notebooks, notebooks clean."
import filecmp, json, re, shutil, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT/"tools"))
import readme  # tools/readme.py

def test_readme_is_generated_from_index():
    assert (ROOT/"README.md").read_text(encoding="utf-8") == readme.render(), \
        "README.md is stale: run `make readme` (it is generated from nbs/index.ipynb)"

def test_readme_names_the_two_commands():
    text = (ROOT/"README.md").read_text(encoding="utf-8")
    assert "make run" in text and "make test" in text

def test_module_matches_notebooks(tmp_path):
    "nbdev_export on a copy of the notebooks reproduces text2sql_ft/ exactly."
    for name in ("settings.ini", "setup.py", "README.md"): shutil.copy(ROOT/name, tmp_path/name)
    shutil.copytree(ROOT/"nbs", tmp_path/"nbs")
    shutil.copytree(ROOT/"text2sql_ft", tmp_path/"text2sql_ft", ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run(["nbdev_export"], cwd=tmp_path, check=True, capture_output=True)
    cmp = filecmp.dircmp(ROOT/"text2sql_ft", tmp_path/"text2sql_ft", ignore=["__pycache__"])
    assert not (cmp.diff_files or cmp.left_only or cmp.right_only), \
        f"text2sql_ft/ is out of date with nbs/ (run nbdev_export): {cmp.diff_files + cmp.left_only + cmp.right_only}"

def _notebooks(): return sorted(p for p in (ROOT/"nbs").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)

def test_notebooks_are_clean():
    "No execution counts, no progress bars or timings in outputs, no token-shaped strings."
    bad = []
    for p in _notebooks():
        text = p.read_text(encoding="utf-8")
        if re.search(r"hf_[A-Za-z0-9]{30,}", text): bad.append(f"{p.name}: token-shaped string")
        for i, c in enumerate(json.loads(text)["cells"]):
            if c["cell_type"] != "code": continue
            if c.get("execution_count") is not None: bad.append(f"{p.name} cell {i}: execution_count")
            out = json.dumps(c.get("outputs", []))
            if re.search(r"it/s\]|s/it\]|\d+%\|", out): bad.append(f"{p.name} cell {i}: progress bar in output")
            if m := re.search(r"/(root|tmp|work|home)/|'train_runtime'|'eval_runtime'", out): bad.append(f"{p.name} cell {i}: {m.group(0)!r} in output")
    assert not bad, bad

def test_notebooks_show_their_examples():
    "A notebook with example cells (not export, hide or slow) is committed with the output of at least one of them."
    skip = re.compile(r"\s*#\|\s*(export|hide|slow|gpu|default_exp|eval:\s*false)")
    bare = []
    for p in _notebooks():
        cells = [c for c in json.loads(p.read_text(encoding="utf-8"))["cells"] if c["cell_type"] == "code"]
        examples = [c for c in cells if not skip.match("".join(c["source"]))]
        if examples and not any(c.get("outputs") for c in examples): bare.append(f"{p.name} ({len(examples)} example cells)")
    assert not bare, f"committed without any example output (run their cheap cells and keep the outputs): {bare}"

def test_lessons_show_most_of_their_examples():
    "At least 60% of the example cells (code that is not export, hide, slow or gpu; not directives alone) keep an output."
    skip = re.compile(r"#\|\s*(exports?|hide|slow|gpu|eval:\s*false)\b")
    n = shown = 0
    for p in _notebooks():
        for c in json.loads(p.read_text(encoding="utf-8"))["cells"]:
            src = "".join(c["source"]) if c["cell_type"] == "code" else ""
            code = [l for l in src.splitlines() if l.strip() and not l.lstrip().startswith("#|")]
            if not code or skip.search(" ".join(l for l in src.splitlines()[:4] if l.startswith("#|"))): continue
            n += 1; shown += bool(c.get("outputs"))
    assert shown >= 0.6 * n, f"only {shown} of {n} example cells show an output (run tools/fill_outputs.py on the lessons)"

def test_one_module_per_notebook():
    "Each exporting notebook names a module of its own (one notebook <-> one module)."
    mods = {}
    for p in _notebooks():
        for c in json.loads(p.read_text(encoding="utf-8"))["cells"]:
            m = re.search(r"^#\|\s*default_exp\s+(\S+)", "".join(c["source"]), re.M)
            if m: mods.setdefault(m.group(1), []).append(p.name)
    assert mods and all(len(v) == 1 for v in mods.values()), mods

def test_runtime_code_does_not_import_dev_tools():
    "nbdev and fastcore are dev-only: the library must import without them."
    for f in (ROOT/"text2sql_ft").glob("*.py"):
        src = f.read_text(encoding="utf-8")
        assert not re.search(r"^\s*(from|import)\s+(nbdev|fastcore|execnb)\b", src, re.M), f.name

def test_ci_runs_make_test():
    assert "make test" in (ROOT/".ci"/"run").read_text()

import colab  # tools/colab.py

def test_every_notebook_opens_in_colab():
    "Each notebook's second and third cells: a badge whose URL opens that very notebook from settings.ini's repo, and the set-up cell."
    for p in _notebooks():
        cells = json.loads(p.read_text(encoding="utf-8"))["cells"]
        badge, setup = "".join(cells[1]["source"]), "".join(cells[2]["source"])
        url = re.search(r"\]\((https://colab\.research\.google\.com/github/[^)]+)\)", badge).group(1)
        assert url == f"https://colab.research.google.com/github/text2sql-ft/text2sql_ft/blob/main/nbs/{p.name}", (p.name, url)
        assert setup == colab.setup_code(), f"{p.name}: stale Colab set-up cell (run python tools/colab.py)"

def _run_setup(find_spec_result):
    "Execute the set-up cell with pip and Drive faked; returns the commands it would have run."
    import importlib.util, subprocess, unittest.mock as mock
    calls = []
    with mock.patch.object(subprocess, "run", side_effect=lambda cmd, **kw: calls.append(cmd)), \
         mock.patch.object(importlib.util, "find_spec", return_value=find_spec_result):
        exec(compile(colab.setup_code(), "setup-cell", "exec"), {})
    return calls

def test_colab_setup_does_nothing_when_installed():
    assert _run_setup(object()) == []

def test_colab_setup_installs_from_the_repo_when_missing():
    calls = _run_setup(None)
    assert len(calls) == 1 and calls[0][-2:] == ["text2sql_ft @ git+https://github.com/text2sql-ft/text2sql_ft@main",
                                                 "fastcore>=1.12.3,<2"], calls   # fastcore: the lessons' test cells

def test_library_import_graph():
    "No library module imports the command line; training code imports no task's module (config.TASKS names them)."
    imports = lambda mod: set(re.findall(r"^\s*from\s+(?:\.|text2sql_ft\.)(\w+)\s+import", (ROOT/"text2sql_ft"/f"{mod}.py").read_text(), re.M))
    mods = [p.stem for p in (ROOT/"text2sql_ft").glob("*.py") if not p.stem.startswith("_")]
    assert not [m for m in mods if m != "cli" and "cli" in imports(m)]
    assert "schema_linking" not in imports("sft")
