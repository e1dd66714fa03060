"""Execute a notebook with its `#| slow` cells and keep the printed output of the slow cells only.

For the few measured tables a lesson commits (e.g. `00_rationale`): every cell runs in order (the slow ones too,
as `make test-slow` would), then only the slow cells' stdout is written back; everything else keeps no output, so
no progress bars, warnings or timings are committed. Usage: `python tools/run_slow_cells.py nbs/00_rationale.ipynb`.
"""
import json, os, sys
from pathlib import Path

def _no_logs(text)->str:
    "`text` without the Trainer's printed log dicts (`{'loss': ...}`): training logs are not committed."
    text = "".join(text) if isinstance(text, list) else text
    return "".join(l for l in text.splitlines(True) if not l.startswith("{'"))

def run(nb_path:Path):
    from execnb.nbio import read_nb
    from execnb.shell import CaptureShell
    nb_path = Path(nb_path).resolve()
    raw = json.loads(nb_path.read_text(encoding="utf-8"))
    nb, sh = read_nb(nb_path), CaptureShell()
    os.chdir(nb_path.parent)
    for cell, rc in zip(nb.cells, raw["cells"]):
        if cell.cell_type != "code": continue
        if "nbdev_export" in cell.source: continue
        outs = sh.run(cell.source)
        if sh.exc: raise RuntimeError(f"{nb_path.name}: cell failed: {sh.exc!r}\n{cell.source[:300]}")
        slow = any(l.strip().replace(" ", "") == "#|slow" for l in cell.source.splitlines())
        keep = [dict(name="stdout", output_type="stream", text=_no_logs(o["text"])) for o in outs
                if slow and o.get("output_type") == "stream" and o.get("name") == "stdout"]
        keep = [o for o in keep if o["text"]]
        rc["outputs"], rc["execution_count"] = keep, None
    nb_path.write_text(json.dumps(raw, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")

if __name__ == "__main__":
    for p in [Path(a).resolve() for a in sys.argv[1:]]: run(p); print(f"wrote outputs of the slow cells of {p}")  # resolved first: run() changes directory
