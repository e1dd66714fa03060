"""No command of the project overwrites one of its own inputs (issue: "Never destroy a user's file").

Each writing command is pointed at one of its inputs (the file itself, a symlink to it, a hard link to it, or a folder
that holds it): it must exit non-zero before any work, in one line naming both paths, and leave the input's bytes as
they were.
"""
import hashlib, json, os, sqlite3, subprocess, sys
from pathlib import Path

import pytest

def _digest(p:Path)->str: return hashlib.sha256(p.read_bytes()).hexdigest()

def _cli(*args, cwd):
    return subprocess.run(["text2sql-ft", *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=300)

@pytest.fixture()
def shop(tmp_path):
    db = tmp_path/"shop.sqlite"
    con = sqlite3.connect(db)
    con.executescript("CREATE TABLE customer (id INTEGER PRIMARY KEY, name TEXT, city TEXT);"
                      "INSERT INTO customer VALUES (1, 'Ann', 'Oslo'), (2, 'Bo', 'Rome');")
    con.commit(); con.close()
    (tmp_path/"link.sqlite").symlink_to(db)
    os.link(db, tmp_path/"hard.sqlite")
    return db

def _pairs(path:Path)->Path:
    rows = [dict(db_id=f"db{i % 3}", question=f"How many customers are in city {i}?", schema="CREATE TABLE customer (id INTEGER, city TEXT)",
                 query=f"SELECT count(*) FROM customer WHERE city = '{i}'") for i in range(9)]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(map(json.dumps, rows)) + "\n")
    return path

def _refused(res, inp:Path, before:str, named:Path=None):
    "Refused in a line that names the input (`named`: the folder given, when `inp` is a file inside it), and `inp` unchanged."
    assert res.returncode != 0, res.stdout[-500:]
    said = [l for l in res.stderr.strip().splitlines() if "would overwrite" in l]
    assert said and str((named or inp).name) in said[0] and "Traceback" not in res.stderr, res.stderr[-2000:]
    assert _digest(inp) == before, f"{inp} was changed"

@pytest.mark.parametrize("out", ["shop.sqlite", "link.sqlite", "hard.sqlite", "sub/../shop.sqlite"])
def test_synth_out_is_its_database(shop, out):
    (shop.parent/"sub").mkdir(exist_ok=True)
    before = _digest(shop)
    _refused(_cli("synth", "--data", f"sqlite:{shop}", "--n", 3, "--out", out, cwd=shop.parent), shop, before)

def test_synth_out_is_spider_tables_json(tmp_path):
    (tmp_path/"spider").mkdir()
    tables = tmp_path/"spider"/"tables.json"
    tables.write_text(json.dumps([dict(db_id="x", table_names_original=["t"], table_names=["t"], column_names_original=[[-1, "*"], [0, "a"]],
                                       column_names=[[-1, "*"], [0, "a"]], column_types=["text", "number"], primary_keys=[], foreign_keys=[])]))
    before = _digest(tables)
    _refused(_cli("synth", "--data", f"spider:{tmp_path/'spider'}", "--out", tables, cwd=tmp_path), tables, before)

def test_evaluate_out_dir_holds_its_data(tmp_path):
    data = _pairs(tmp_path/"reports"/"eval.json")   # a JSONL file the report would overwrite
    before = _digest(data)
    _refused(_cli("evaluate", "--data", f"jsonl:{data}", "--split", "all", "--out_dir", tmp_path/"reports", cwd=tmp_path), data, before)

@pytest.mark.parametrize("command", ["train", "run"])
def test_training_output_holds_its_inputs(tmp_path, command):
    data = _pairs(tmp_path/"out"/"adapter"/"pairs.jsonl")   # inside the adapter folder the run writes
    before = _digest(data)
    _refused(_cli(command, "--dataset_id", f"jsonl:{data}", "--output_name", tmp_path/"out", cwd=tmp_path), data, before, data)
    start = tmp_path/"out2"/"adapter"; start.mkdir(parents=True)
    (start/"adapter_config.json").write_text("{}")
    before = _digest(start/"adapter_config.json")
    _refused(_cli(command, "--prev_checkpoint", start, "--output_name", tmp_path/"out2", cwd=tmp_path), start/"adapter_config.json", before, start)

def test_rl_output_is_its_sft_adapter(tmp_path):
    sft = tmp_path/"main"/"adapter"; sft.mkdir(parents=True)
    (sft/"adapter_config.json").write_text("{}")
    before = _digest(sft/"adapter_config.json")
    _refused(_cli("rl", "--adapter", sft, "--output_name", tmp_path/"main", cwd=tmp_path), sft/"adapter_config.json", before, sft)

def test_bench_out_is_its_model(tmp_path):
    model = tmp_path/"model"; model.mkdir()
    (model/"config.json").write_text("{}")
    before = _digest(model/"config.json")
    _refused(_cli("bench", "--quick", "--model", model, "--out", model/"config.json", cwd=tmp_path), model/"config.json", before, model)

def test_panel_save_refuses_a_config_over_its_data(tmp_path):
    "The panel's Save writes `<output folder>/config.yaml`: a run whose data is that file is invalid, its buttons off."
    from text2sql_ft.config import FinetuneConfig
    from text2sql_ft.panel import ConfigPanel
    data = _pairs(tmp_path/"config.yaml")
    panel = ConfigPanel(FinetuneConfig(dataset_id=f"jsonl:{data}", output_name=str(tmp_path)))
    assert any("would overwrite dataset_id" in p for p in panel.validate())
    assert panel.save_button.disabled and panel.train_button.disabled

def test_a_new_output_beside_the_input_is_fine(shop):
    "Writing next to an input (a new file in its folder) is allowed: only the input itself is protected."
    from text2sql_ft.config import clobbers
    assert not clobbers(shop.parent/"pairs.jsonl", shop) and clobbers(shop.parent/"hard.sqlite", shop)

@pytest.mark.parametrize("folder", [False, True])
def test_an_interrupted_write_leaves_the_old_output(tmp_path, folder):
    "A write that fails half-way (a full disk, Ctrl-C) leaves the previous file or folder as it was, and no temporary beside it."
    from text2sql_ft.config import write_atomic, write_atomic_dir
    target = tmp_path/("adapter" if folder else "report.json")
    def half(t):
        (t/"adapter_config.json" if folder else t).write_text("half")
        raise KeyboardInterrupt
    first = (lambda t: (t/"adapter_config.json").write_text("old")) if folder else (lambda t: t.write_text("old"))
    (write_atomic_dir if folder else write_atomic)(target, first)
    with pytest.raises(KeyboardInterrupt): (write_atomic_dir if folder else write_atomic)(target, half)
    assert (target/"adapter_config.json" if folder else target).read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]
