"""One decoding setting, read everywhere; the vote by result; `crossval` from the command line, on a toy model."""
import inspect, json
from pathlib import Path

import pytest
from conftest import ROOT, run_cli

from text2sql_ft.data import load_spider_dev_offline, split_by_database
from text2sql_ft.generation import Decoding


@pytest.fixture(scope="module")
def three():
    from text2sql_ft.synthesis import databases_for
    exs = split_by_database(load_spider_dev_offline(), 0.2, seed=0)[1][:3]
    return exs, databases_for(exs)


def test_vote_by_result(three):
    from text2sql_ft.evaluation import vote
    exs, dbs = three
    q = exs[0].query   # SELECT Title FROM Cartoon ORDER BY title
    wrong = "SELECT Title FROM Cartoon WHERE 0"
    # two samples that agree (up to case) outvote a greedy query with another result
    assert vote(exs[:1], [[wrong, q, q.lower(), "SELECT nope"]], dbs) == ([q], [2])
    # a tie goes to the greedy query's group, wherever it stands
    assert vote(exs[:1], [[q, wrong, wrong, q]], dbs) == ([q], [2])
    # three copies of a query that does not run never beat one that runs
    assert vote(exs[:1], [["SELECT 1", "SELEC", "SELEC", "SELEC"]], dbs) == (["SELECT 1"], [1])
    # nothing runs: the greedy query stays
    assert vote(exs[:1], [["SELEC", "", "SELECT nope FROM nowhere"]], dbs) == (["SELEC"], [0])


def test_one_default_everywhere():
    from text2sql_ft.cli import build_parser
    from text2sql_ft.config import FinetuneConfig
    from text2sql_ft.evaluation import evaluate, execution_guided
    from text2sql_ft.generation import sample_replies
    from text2sql_ft.main_job import MAIN_JOB
    d = Decoding()
    cfg = FinetuneConfig()
    assert (cfg.decoding, cfg.samples) == (d.mode, d.samples) and cfg.decoding_of() == d
    assert "decoding" not in MAIN_JOB and "samples" not in MAIN_JOB   # the main job scores as everything else does
    ev = build_parser().parse_args(["evaluate"])
    assert (ev.decoding, ev.samples) == (d.mode, d.samples)
    assert inspect.signature(evaluate).parameters["decoding"].default is None   # None: `Decoding()`
    assert inspect.signature(execution_guided).parameters["n"].default == d.samples
    assert inspect.signature(sample_replies).parameters["temperature"].default == d.temperature
    # the old per-caller knobs are gone from the package
    src = "\n".join(p.read_text() for p in (ROOT/"text2sql_ft").glob("*.py") if p.name != "_modidx.py")
    assert "retry_samples" not in src and "retry_rounds" not in src and "retry=" not in src


def test_bad_decoding_settings_are_named():
    from text2sql_ft.config import FinetuneConfig
    with pytest.raises(ValueError, match="decoding must be one of"): Decoding("beam")
    assert any("samples must be" in p for p in FinetuneConfig(decoding="vote", samples=0).problems())
    r = run_cli("evaluate", "--decoding", "beam")
    assert r.returncode == 2 and "invalid choice: 'beam'" in r.stderr


def test_evaluate_vote_prints_ex_ts_and_what_the_vote_changed(tmp_path, toy_dir):
    r = run_cli("evaluate", "--model", str(toy_dir), "--decoding", "vote", "--samples", "2", "--limit", "3",
                "--max_new_tokens", "4", "--out_dir", str(tmp_path/"ev"), "--quiet")
    assert r.returncode == 0, r.stderr[-3000:]
    assert "EX" in r.stdout and "TS" in r.stdout and "vote: it changed 0 of the 3 answers" in r.stdout, r.stdout
    saved = json.loads((tmp_path/"ev"/"eval.json").read_text())
    assert saved["settings"]["decoding_setting"]["mode"] == "vote" and [x["samples"] for x in saved["rows"]] == [2, 2, 2]


def test_predict_vote_needs_a_database(toy_dir):
    r = run_cli("predict", "--model", str(toy_dir), "--question", "How many?", "--decoding", "vote",
                "--schema", "CREATE TABLE t (a INT)")
    assert r.returncode == 1 and "give --db" in r.stderr and "Traceback" not in r.stderr, r.stderr[-2000:]


def test_crossval_cli_scores_every_question_once(tmp_path, toy_dir):
    from text2sql_ft.pairs import write_pairs
    spider = load_spider_dev_offline()
    data = tmp_path/"three.jsonl"
    write_pairs([e for d in ("concert_singer", "pets_1", "world_1") for e in [x for x in spider if x.db_id == d][:2]], data)
    args = ["crossval", "--folds", "3", "--model_name", str(toy_dir), "--dataset_id", f"jsonl:{data}", "--output_name",
            str(tmp_path/"cv"), "--max_steps", "1", "--synth_pairs", "0", "--compile_layers", "false", "--eval_loss_examples", "2",
            "--report_to", "none", "--decoding", "greedy"]
    r = run_cli(*args)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "all 6 questions (3 databases)" in r.stdout, r.stdout
    cv = json.loads((tmp_path/"cv"/"crossval.json").read_text())
    assert cv["n"] == 6 and sorted(r["fold"] for r in cv["rows"]) == [0, 0, 1, 1, 2, 2]
    for k in range(3):
        fold = json.loads((tmp_path/"cv"/f"fold{k}"/"fold.json").read_text())
        assert {x["db_id"] for x in fold["rows"]} == set(fold["dbs"]) and not set(fold["dbs"]) & set(fold["train_dbs"])
    assert cv["command"].startswith("text2sql-ft crossval --folds 3") and cv["cpu"]
    again = run_cli(*args)
    assert again.returncode == 0 and again.stdout.count("scored before, kept") == 3, again.stdout
    bad = run_cli("crossval", "--folds", "1", "--dataset_id", f"jsonl:{data}", "--output_name", str(tmp_path/"x"))
    assert bad.returncode == 1 and "folds must be a whole number from 2" in bad.stderr and "Traceback" not in bad.stderr
