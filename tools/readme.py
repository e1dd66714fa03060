"""Render nbs/index.ipynb to README.md (a Quarto-free stand-in for nbdev_readme).

Markdown cells are copied (image links into `nbs/images/` made relative to the repository root), code cells become ```python blocks followed by their text output; cells marked `#| hide`
are left out, cells marked `#| echo: false` show their output only (a table read from `results/`), and `#|` directive
lines are dropped. `python tools/readme.py --check` exits 1 when README.md is stale.
"""
import json, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

def _src(cell): return "".join(cell.get("source", []))

def _output_text(out):
    if out.get("output_type") == "stream": return "".join(out.get("text", []))
    data = out.get("data", {})
    if "text/markdown" in data: return None  # rendered separately
    return "".join(data.get("text/plain", [])) if "text/plain" in data else ""

def render(nb_path=ROOT/"nbs"/"index.ipynb")->str:
    nb = json.loads(Path(nb_path).read_text(encoding="utf-8"))
    parts = ["<!-- Generated from nbs/index.ipynb by `make readme`; edit the notebook, not this file. -->"]
    for cell in nb["cells"]:
        src = _src(cell)
        lines = src.splitlines()
        if any(l.strip().replace(" ", "") in ("#|hide", "#|hide_input") for l in lines): continue
        if cell["cell_type"] == "markdown": parts.append(src.strip().replace("](images/", "](nbs/images/")); continue
        if cell["cell_type"] != "code": continue
        code = "\n".join(l for l in lines if not l.lstrip().startswith("#|")).strip()
        echo = not any(l.strip().replace(" ", "") == "#|echo:false" for l in lines)
        if code and echo: parts.append(f"```python\n{code}\n```")
        for out in cell.get("outputs", []):
            txt = _output_text(out)
            if txt is None: parts.append("".join(out["data"]["text/markdown"]).strip())
            elif txt.strip(): parts.append(f"```\n{txt.rstrip()}\n```")
    return "\n\n".join(parts) + "\n"

if __name__ == "__main__":
    text, readme = render(), ROOT/"README.md"
    if "--check" in sys.argv:
        if not readme.exists() or readme.read_text(encoding="utf-8") != text:
            print("README.md is stale: run `make readme` (it is generated from nbs/index.ipynb)"); sys.exit(1)
    else:
        readme.write_text(text, encoding="utf-8"); print(f"wrote {readme}")
