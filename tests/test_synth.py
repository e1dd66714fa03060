"""`text2sql-ft synth` as a user runs it: the 146 offline non-dev schemas, and a mixed training run that may not touch a held-out database."""
import json
from collections import Counter
from conftest import run_cli

def test_synth_spider_train_schemas(tmp_path):
    "`synth --data spider-train-schemas --n 20` writes >= 20 pairs for each of the 146 non-dev schemas and none for a dev one."
    out = tmp_path/"p.jsonl"
    res = run_cli("synth", "--data", "spider-train-schemas", "--n", "20", "--out", str(out), "--quiet")
    assert res.returncode == 0, res.stderr[-3000:]
    rows = [json.loads(l) for l in out.read_text().splitlines()]
    by_db = Counter(r["db_id"] for r in rows)
    from text2sql_ft.pairs import spider_dev_db_ids, spider_train_schemas
    assert set(by_db) == set(spider_train_schemas()) and len(by_db) == 146
    assert min(by_db.values()) >= 20
    assert not set(by_db) & spider_dev_db_ids()
    from text2sql_ft.data import load_jsonl
    assert len(load_jsonl(out)) == len(rows)   # the file reads back as training data

def test_extra_train_data_refuses_held_out_databases(tmp_path):
    "Mixing a JSONL that holds a held-out database into training stops before any training, naming the database."
    from text2sql_ft.data import load_examples
    from text2sql_ft.pairs import write_pairs
    held = load_examples("spider-dev-offline", "test")[:3]
    bad = write_pairs(held, tmp_path/"bad.jsonl")
    res = run_cli("train", "--model_name", "smollm2-135m", "--extra_train_data", str(bad), "--output_name", str(tmp_path/"run"),
                  "--max_steps", "1", "--report_to", "none")
    assert res.returncode == 1 and "uses 1 evaluation database(s)" in res.stderr, res.stderr[-2000:]
    assert not (tmp_path/"run"/"adapter").exists()

def test_synth_paraphrase_with_a_teacher(tmp_path, toy_dir):
    "`synth --paraphrase MODEL` runs the teacher over every pair and says what it kept; a rejected answer keeps the template question."
    plain, reworded = tmp_path/"plain.jsonl", tmp_path/"reworded.jsonl"
    args = ["synth", "--data", "spider-train-schemas", "--n", "1", "--quiet"]
    assert run_cli(*args, "--out", str(plain)).returncode == 0
    res = run_cli(*args, "--out", str(reworded), "--paraphrase", str(toy_dir))
    assert res.returncode == 0, res.stderr[-3000:]
    assert "questions reworded by" in res.stdout, res.stdout
    a = [json.loads(l) for l in plain.read_text().splitlines()]
    b = [json.loads(l) for l in reworded.read_text().splitlines()]
    assert [(r["db_id"], r["query"]) for r in a] == [(r["db_id"], r["query"]) for r in b]   # no pair lost or changed
    from text2sql_ft.data import load_jsonl
    from text2sql_ft.pairs import check_paraphrase
    for e, r in zip(load_jsonl(plain), b):
        assert r["question"] == e.question or check_paraphrase(e, r["question"]) is None
    bad = run_cli(*args, "--out", str(tmp_path/"x.jsonl"), "--paraphrase", str(tmp_path/"no_model"))
    assert bad.returncode == 1 and "no_model" in bad.stderr and not (tmp_path/"x.jsonl").exists(), bad.stderr[-2000:]
