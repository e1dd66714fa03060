"Exit 0 when this checkout is installed (editable) with all its requirements satisfied, else 1 (says what is missing)."
import shlex, sys
from configparser import ConfigParser
from importlib import metadata
from pathlib import Path
try: from packaging.requirements import Requirement
except ImportError: print("To install: everything (packaging is not installed yet)"); sys.exit(1)

root = Path(__file__).resolve().parent.parent
cfg = ConfigParser(delimiters=["="]); cfg.read(root/"settings.ini")
reqs = shlex.split(cfg["DEFAULT"].get("requirements", "")) + shlex.split(cfg["DEFAULT"].get("dev_requirements", ""))
missing = []
for r in map(Requirement, reqs):
    try: v = metadata.version(r.name)
    except metadata.PackageNotFoundError: missing.append(f"{r} (not installed)"); continue
    if r.specifier and not r.specifier.contains(v, prereleases=True): missing.append(f"{r} (have {v})")
try:
    import text2sql_ft
    if Path(text2sql_ft.__file__).resolve().parent != root/"text2sql_ft": missing.append(f"text2sql_ft (imports from {text2sql_ft.__file__})")
except ImportError: missing.append("text2sql_ft (not installed)")
try: metadata.version("text2sql_ft")
except metadata.PackageNotFoundError: missing.append("text2sql_ft metadata (console script)")
if missing: print("To install: " + "; ".join(missing)); sys.exit(1)
