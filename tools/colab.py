"""Give every notebook an "Open in Colab" badge and a Colab set-up cell, right after its title (idempotent).

The badge's URL is built from settings.ini (`git_url`, `branch`); the set-up cell installs the package from that URL
when it isn't importable (on Colab), and can put the asset cache and the outputs on Google Drive. Run
`python tools/colab.py` after adding a notebook; `python tools/colab.py --check` exits 1 when a notebook lacks them.
"""
import configparser, json, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BADGE_ID, SETUP_ID = "colab-badge", "colab-setup"

def settings()->dict:
    cfg = configparser.ConfigParser(); cfg.read(ROOT/"settings.ini")
    return dict(cfg["DEFAULT"])

def colab_url(nb_name:str)->str:
    "The Colab URL that opens `nbs/<nb_name>` from the repository's branch."
    s = settings()
    repo = s["git_url"].removeprefix("https://github.com/").rstrip("/")
    return f"https://colab.research.google.com/github/{repo}/blob/{s['branch']}/nbs/{nb_name}"

def badge(nb_name:str)->str:
    return f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({colab_url(nb_name)})"

def setup_code()->str:
    s = settings()
    return f'''#| hide
# Colab set-up. Where text2sql_ft is already importable (a local clone, `pip install -e .`) this installs nothing.
# On Colab it installs the package from GitHub, and fastcore for the lessons' test cells. DRIVE = True keeps the asset
# cache and the outputs on Google Drive, so a disconnect loses nothing: training resumes by itself from the newest
# checkpoint in its output folder. A Colab secret HF_TOKEN is copied into this kernel's environment, so that
# `!text2sql-ft ...` commands (subprocesses, which Colab's secrets do not reach) get it too; it is never printed.
DRIVE = False
import importlib.util, os, subprocess, sys
need = {{"{s['lib_name']}": "{s['lib_name']} @ git+{s['git_url']}@{s['branch']}", "fastcore": "fastcore>=1.12.3,<2"}}
if missing := [spec for name, spec in need.items() if importlib.util.find_spec(name) is None]:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", *missing], check=True)
if "google.colab" in sys.modules and not os.environ.get("HF_TOKEN"):
    from google.colab import userdata
    try: token = userdata.get("HF_TOKEN")
    except Exception: token = None   # no such secret, or this notebook was not granted access to it
    if token: os.environ["HF_TOKEN"] = token
if DRIVE and "google.colab" in sys.modules:
    from google.colab import drive
    drive.mount("/content/drive")
    home = "/content/drive/MyDrive/{s['lib_name']}"
    os.environ["TEXT2SQL_FT_CACHE"] = f"{{home}}/cache"  # models and data, prepared once
    os.makedirs(f"{{home}}/nbs", exist_ok=True); os.chdir(f"{{home}}/nbs")  # so the notebooks' ../outputs is on Drive'''

def _lines(s:str)->list: return [l + "\n" for l in s.split("\n")[:-1]] + [s.split("\n")[-1]]

def wanted(nb_name:str)->list:
    "The badge cell and the set-up cell `nb_name` should have after its title."
    return [dict(cell_type="markdown", id=BADGE_ID, metadata={}, source=_lines(badge(nb_name))),
            dict(cell_type="code", id=SETUP_ID, metadata={}, execution_count=None, outputs=[], source=_lines(setup_code()))]

def notebooks()->list: return sorted(p for p in (ROOT/"nbs").glob("*.ipynb"))

def fix(path:Path)->bool:
    "Put the two cells right after the title cell; True when the notebook changed."
    nb = json.loads(path.read_text(encoding="utf-8"))
    rest = [c for c in nb["cells"] if c.get("id") not in (BADGE_ID, SETUP_ID)]
    cells = rest[:1] + wanted(path.name) + rest[1:]
    if cells == nb["cells"]: return False
    nb["cells"] = cells
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return True

if __name__ == "__main__":
    if "--check" in sys.argv:
        key = lambda cs: [(c.get("id"), c["cell_type"], "".join(c["source"])) for c in cs]
        stale = [p.name for p in notebooks() if key(json.loads(p.read_text(encoding="utf-8"))["cells"][1:3]) != key(wanted(p.name))]
        if stale: print("no Colab badge or set-up cell (run python tools/colab.py):", ", ".join(stale)); sys.exit(1)
    else:
        for p in notebooks():
            if fix(p): print("updated", p.name)
