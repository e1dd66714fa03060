"""The schema-linking task through the CLI (train, then evaluate), and `text2sql-ft bench --quick` line format.

Both on a toy model so they take seconds; the real SmolLM2 figures are in the notebooks' slow cells and the README."""
import json, re
from pathlib import Path
import pytest
from conftest import run_cli

def test_train_and_evaluate_schema_linking(tmp_path, toy_dir):
    "`train --task_type schema` trains on the linking JSON; `evaluate --task_type schema` prints P/R/F1 and writes them."
    out = tmp_path/"link"
    tr = run_cli("train", "--task_type", "schema", "--model_name", str(toy_dir), "--output_name", str(out), "--train_limit", "16",
                 "--eval_limit", "4", "--max_steps", "3", "--train_batch_size", "4", "--save_steps", "3", "--eval_steps", "3",
                 "--max_length", "4096", "--report_to", "none", "--learning_rate", "5e-3")
    assert tr.returncode == 0, tr.stderr[-3000:]
    assert (out/"adapter"/"adapter_config.json").exists()
    from text2sql_ft.config import FinetuneConfig
    assert FinetuneConfig.from_yaml(out/"config.yaml").task_type == "schema"
    ev = run_cli("evaluate", "--task_type", "schema", "--model", str(toy_dir), "--adapter", str(out/"adapter"),
                 "--sql_adapter", str(out/"adapter"), "--limit", "4", "--batch_size", "4", "--out_dir", str(tmp_path/"ev"), "--quiet")
    assert ev.returncode == 0, ev.stderr[-3000:]
    for line in ("schema linking", "table", "column", "both exact", "SQL with the full schema", "SQL with the reduced schema"):
        assert line in ev.stdout, (line, ev.stdout)
    saved = json.loads((tmp_path/"ev"/"linking.json").read_text())
    assert saved["scores"]["n"] == 4 and 0 <= saved["scores"]["column"]["f1"] <= 1
    assert len(saved["rows"]) == 4 and all(set(r["gold"]) for r in saved["rows"])  # every gold target names a table
    bad = run_cli("evaluate", "--sql_adapter", str(out/"adapter"), "--limit", "1", "--quiet")
    assert bad.returncode == 1 and "--sql_adapter goes with --task_type schema" in bad.stderr

def test_bench_quick_prints_p1_to_p4_and_p7(tmp_path, toy_dir):
    "`text2sql-ft bench --quick` prints `NAME value` lines for P1-P4 and P7 and writes the JSON (toy model: format, not figures)."
    res = run_cli("bench", "--quick", "--model", str(toy_dir), "--scoring_model", str(toy_dir), "--out", str(tmp_path/"bench.json"))
    assert res.returncode == 0, res.stderr[-3000:]
    lines = dict(l.split(" ", 1) for l in res.stdout.splitlines() if re.fullmatch(r"P\d\w* -?[\d.]+(e-?\d+)?", l))
    assert {"P1", "P2", "P2_identical", "P3", "P4", "P1_eval_loss_ours", "P1_eval_loss_baseline", "P7", "P7_vs_generate16"} <= set(lines), res.stdout
    assert float(lines["P4"]) < 1.0 and 0 <= float(lines["P2_identical"]) <= 1
    saved = json.loads((tmp_path/"bench.json").read_text())
    assert saved["figures"]["P3"] == pytest.approx(float(lines["P3"]), abs=0.01)
    assert set(saved["names"]) == set(saved["figures"]) and all(saved["names"].values())   # every figure named in words
    assert saved["details"]["P3"]["ok"] == 3102
    assert saved["details"]["P7"]["n"] == 1034 and saved["figures"]["P7"] == pytest.approx(float(lines["P7"]), abs=0.01)
