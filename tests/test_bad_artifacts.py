"""Broken models, adapters and data files: one line that names the file and what is wrong, never a traceback or the wrong culprit."""
import json, os, subprocess
from pathlib import Path

import pytest

from text2sql_ft.toy import save_toy, toy_tokenizer

def _cli(*args, cwd, **env):
    return subprocess.run(["text2sql-ft", *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=300,
                          env={**os.environ, **env})

def _one_line(res, *words):
    assert res.returncode != 0, res.stdout[-300:]
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in res.stderr, res.stderr[-2000:]
    for w in words: assert w in lines[0], (w, lines[0])
    return lines[0]

@pytest.fixture(scope="module")
def toys(tmp_path_factory):
    "A toy model, an adapter trained on it (saved by PEFT), and a wider toy model the adapter does not fit."
    import torch
    from peft import get_peft_model
    from transformers import AutoModelForCausalLM
    from text2sql_ft.lora import lora_config
    root = tmp_path_factory.mktemp("toys")
    tok = toy_tokenizer()
    small, wide = save_toy(root/"small", tok, hidden_size=64), save_toy(root/"wide", tok, hidden_size=128)
    get_peft_model(AutoModelForCausalLM.from_pretrained(small), lora_config(4)).save_pretrained(root/"adapter")
    return root, small, wide

def _truncate(path:Path, keep:float=0.5):
    data = path.read_bytes(); path.write_bytes(data[:int(len(data) * keep)])

def test_truncated_model_weights(toys, tmp_path):
    import shutil
    _, small, _ = toys
    broken = tmp_path/"model"; shutil.copytree(small, broken); _truncate(broken/"model.safetensors")
    _one_line(_cli("evaluate", "--model", broken, "--limit", 1, "--out_dir", tmp_path/"e", cwd=tmp_path), "model.safetensors", "truncated")

@pytest.mark.parametrize("damage, words", [
    (lambda d: _truncate(d/"adapter_model.safetensors"), ["adapter_model.safetensors", "truncated"]),
    (lambda d: (d/"adapter_model.safetensors").unlink(), ["no adapter_model.safetensors"]),
    (lambda d: (d/"adapter_config.json").write_text('{"r": 4,'), ["adapter_config.json is not valid JSON"])])
def test_broken_adapter_is_named_not_the_model(toys, tmp_path, damage, words):
    import shutil
    _, small, _ = toys
    ad = tmp_path/"ad"; shutil.copytree(toys[0]/"adapter", ad); damage(ad)
    line = _one_line(_cli("evaluate", "--model", small, "--adapter", ad, "--limit", 1, "--out_dir", tmp_path/"e", cwd=tmp_path), *words)
    assert "--model" not in line

def test_adapter_for_another_base(toys, tmp_path):
    root, _, wide = toys
    line = _one_line(_cli("evaluate", "--model", wide, "--adapter", root/"adapter", "--limit", 1, "--out_dir", tmp_path/"e", cwd=tmp_path),
                     "was trained on", "128 wide")
    assert "[64] wide" in line

def test_misspelled_model_name_in_train(tmp_path):
    _one_line(_cli("train", "--model_name", "qwen2.5-coder-05b", "--max_steps", 1, "--output_name", tmp_path/"o", cwd=tmp_path,
                   HF_HUB_OFFLINE="1"), "qwen2.5-coder-05b", "qwen2.5-coder-0.5b", "not an offline model")

def test_truncated_tables_json(tmp_path):
    (tmp_path/"sp").mkdir()
    (tmp_path/"sp"/"tables.json").write_text('[{"db_id": "x", "table_names_original": ["t"], "column_na')
    _one_line(_cli("synth", "--data", f"spider:{tmp_path/'sp'}", "--out", tmp_path/"o.jsonl", cwd=tmp_path), "tables.json", "invalid JSON")
    assert not (tmp_path/"o.jsonl").exists()

def test_json_array_given_as_jsonl(tmp_path):
    rows = [dict(db_id="d", question="q?", query="SELECT 1", schema="CREATE TABLE t (a)")] * 25
    (tmp_path/"arr.jsonl").write_text(json.dumps(rows, indent=1))
    _one_line(_cli("evaluate", "--data", f"jsonl:{tmp_path/'arr.jsonl'}", "--out_dir", tmp_path/"e", cwd=tmp_path), "a JSON array, not JSON lines")

def test_lenient_skips_bad_rows(tmp_path):
    "The library's strict=False on the command line: --lenient (train and run: the config's `lenient`)."
    from text2sql_ft.cli import build_parser
    from text2sql_ft.config import FinetuneConfig
    from text2sql_ft.data import DataError
    from text2sql_ft.sft import held_out_examples
    good = [dict(db_id=f"d{i % 4}", question=f"q{i}?", query="SELECT a FROM t", schema="CREATE TABLE t (a)") for i in range(12)]
    (tmp_path/"p.jsonl").write_text("\n".join(map(json.dumps, good)) + "\n{broken\n")
    cfg = dict(dataset_id=f"jsonl:{tmp_path/'p.jsonl'}", output_name=str(tmp_path/"o"))
    with pytest.raises(DataError, match="--lenient"): held_out_examples(FinetuneConfig(**cfg))
    with pytest.warns(UserWarning, match="skipped 1 bad row"): assert held_out_examples(FinetuneConfig(**cfg, lenient=True))
    assert build_parser().parse_args(["evaluate", "--lenient"]).lenient

def test_prompt_over_the_context_is_refused_per_row():
    "A 200-table schema does not fit a 256-token context: that row gets no SQL, with its token count, and the others are answered."
    import warnings
    from text2sql_ft.data import Example, schema_from_ddl
    from text2sql_ft.generation import generate_replies
    from text2sql_ft.toy import toy_model
    tok = toy_tokenizer(); m = toy_model(tok); m.config.max_position_embeddings = 256
    small = schema_from_ddl("CREATE TABLE t (a INTEGER)")
    big = schema_from_ddl("\n".join(f"CREATE TABLE t{i} (a{i} INTEGER, b{i} TEXT);" for i in range(200)))
    huge = Example("d", "x" * 10_000_000, "", small)   # a 10 MB question: refused without tokenizing it
    exs = [Example("d", "How many?", "", small), Example("big", "How many?", "", big), huge, Example("d", "List a.", "", small)]
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        out = generate_replies(m, tok, exs, max_new_tokens=8, style="compact", progress=False, stop=None)
    said = [str(x.message) for x in w if "context" in str(x.message)]
    assert len(said) == 1 and "2 prompt(s)" in said[0] and "row 1 (" in said[0] and "row 2 (" in said[0], said
    assert out[1] == out[2] == "" and out[0] and out[3]

def test_synth_n_is_bounded_by_the_schema(tmp_path):
    "Asking a 3-row table for a million pairs stops once no new pair comes, and says how many there were."
    import sqlite3, time, warnings
    from text2sql_ft.data import schema_from_sqlite
    from text2sql_ft.pairs import synthesize_pairs
    db = tmp_path/"pets.sqlite"
    con = sqlite3.connect(db); con.execute("CREATE TABLE pet (name TEXT, kind TEXT)")
    con.executemany("INSERT INTO pet VALUES (?, ?)", [("Rex", "dog"), ("Tom", "cat"), ("Kit", "cat")]); con.commit(); con.close()
    t = time.time()
    with pytest.warns(UserWarning, match="distinct pairs of the 1000000 asked for"):
        got = synthesize_pairs(schema_from_sqlite(db), 10**6, 0, db=db, stall=300)
    assert 0 < len(got) < 10**6 and time.time() - t < 60
