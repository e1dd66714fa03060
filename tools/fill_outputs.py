"""Run a notebook and keep the outputs of its cheap example cells that show something and have no output yet.

A lesson shows its examples: this executes every cell in order (not `#| slow`, `#| gpu` or `#| eval: false` ones, as
`nbdev_test` does) and, for each example cell (not `#| export` or `#| hide`) that has no committed output, keeps what
it printed or displayed: stdout, a result's text, a plot as PNG. Warnings and progress bars (stderr) and the Trainer's log dicts are never kept, and
an output that holds a path of this machine, a progress bar, a timing or a token-shaped string is left out with a
note, to be looked at by hand. Cells that already show an output are left as they are.
Usage: `python tools/fill_outputs.py nbs/01_data.ipynb [...]`, then review `git diff` and run `nbdev_clean`.
"""
import json, os, re, sys
from pathlib import Path

SKIP_RUN = re.compile(r"#\|\s*(slow|gpu|eval:\s*false)\b")
NOT_EXAMPLE = re.compile(r"#\|\s*(exports?|hide|slow|gpu|eval:\s*false)\b")
UNSTABLE = [(re.compile(p), why) for p, why in [
    (r"/(root|tmp|work|home)/", "a path of this machine"), (r"it/s\]|s/it\]|\d+%\|", "a progress bar"),
    (r"\b\d+(\.\d+)?\s?(s|ms|sec|seconds)\b(?! of)", "a timing"), (r"hf_[A-Za-z0-9]{30,}", "a token-shaped string"),
    (r"0x[0-9a-f]{8,}", "an object address")]]

def _directives(src:str)->str: return " ".join(l for l in src.lstrip().splitlines()[:4] if l.startswith("#|"))

def _keep(outs:list)->list:
    "The outputs worth committing: stdout, a result's plain text or PNG, a displayed PNG; never stderr."
    keep = []
    for o in outs:
        t = o.get("output_type")
        if t == "stream" and o.get("name") == "stdout":
            text = "".join(l for l in "".join(o["text"]).splitlines(True) if not l.startswith("{'"))   # no Trainer log dicts
            if text: keep.append(dict(name="stdout", output_type="stream", text=text))
        elif t in ("execute_result", "display_data"):
            data = {k: v for k, v in o.get("data", {}).items() if k in ("text/plain", "image/png")}
            if "image/png" in data: data.pop("text/plain", None)   # a figure's repr says nothing
            if data: keep.append(dict(output_type="display_data", data=data, metadata={}))
    return keep

def _problem(outs:list):
    text = json.dumps([o.get("text", o.get("data", {}).get("text/plain", "")) for o in outs])
    return next((why for p, why in UNSTABLE if p.search(text)), None)

def fill(nb_path:Path)->int:
    from execnb.nbio import read_nb
    from execnb.shell import CaptureShell
    nb_path = Path(nb_path).resolve()
    raw = json.loads(nb_path.read_text(encoding="utf-8"))
    nb, sh, filled = read_nb(nb_path), CaptureShell(), 0
    sh.run("%matplotlib inline")   # figures come back as PNG outputs, as in Jupyter
    cwd = os.getcwd(); os.chdir(nb_path.parent)
    try:
        for cell, rc in zip(nb.cells, raw["cells"]):
            if cell.cell_type != "code" or "nbdev_export" in cell.source or SKIP_RUN.search(_directives(cell.source)): continue
            outs = sh.run(cell.source)
            if sh.exc: raise RuntimeError(f"{nb_path.name}: cell failed: {sh.exc!r}\n{cell.source[:300]}")
            if NOT_EXAMPLE.search(_directives(cell.source)) or rc.get("outputs") or not cell.source.strip(): continue
            keep = _keep(outs)
            if not keep: continue
            if why := _problem(keep): print(f"{nb_path.name}: left out ({why}): {cell.source.splitlines()[0][:80]}"); continue
            rc["outputs"], filled = keep, filled + 1
    finally: os.chdir(cwd)
    nb_path.write_text(json.dumps(raw, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return filled

if __name__ == "__main__":
    for p in sys.argv[1:]: print(f"{p}: {fill(Path(p))} example cells now show their output", flush=True)
