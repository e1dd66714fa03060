"""The hostile-input probe suite: SQL, data files, configs and the CLI, each probe with the outcome it must have.

Run it alone with `python tests/probes.py` (its last line is `N passed, N failed`); `make test` runs it too, one test
per probe. Families follow the reliability issue: 1 memory, 2 exceptions, 3 timeouts, 4 matcher, 5 SQLite surface,
6 paths, 7 English taken for SQL, 8 late failures and tracebacks, 9 messages that don't say where, 10 bad input
accepted silently. Every SQL probe also checks that the database file's bytes and its folder listing are unchanged.
"""
from __future__ import annotations
import contextlib, hashlib, io, json, os, signal, sqlite3, subprocess, sys, tempfile, time
from pathlib import Path

HERE = Path(tempfile.mkdtemp(prefix="probes-"))
PROBES = []  # (family, name, function): the function raises AssertionError when the outcome is wrong

def probe(family:int, name:str):
    def deco(f): PROBES.append((family, name, f)); return f
    return deco

# ---------------------------------------------------------------- fixtures
def _db(path:Path, wal:bool=False)->Path:
    con = sqlite3.connect(path)
    if wal: con.execute("PRAGMA journal_mode=WAL")
    con.executescript("""CREATE TABLE singer (id INTEGER PRIMARY KEY, name TEXT, age INTEGER, country TEXT);
        CREATE TABLE song (sid INTEGER PRIMARY KEY, singer_id INTEGER REFERENCES singer(id), title TEXT);""")
    con.executemany("INSERT INTO singer VALUES (?,?,?,?)", [(i, f"s{i}", 20 + i % 40, ["France", "Spain"][i % 2]) for i in range(2000)])
    con.executemany("INSERT INTO song VALUES (?,?,?)", [(i, i % 2000, f"t{i}") for i in range(500)])
    con.commit(); con.close()
    return path

DB_DIR = HERE/"db"; DB_DIR.mkdir()
DB = _db(DB_DIR/"shop.sqlite")

def _state(path:Path)->tuple:
    return hashlib.sha256(path.read_bytes()).hexdigest(), sorted(os.listdir(path.parent))

def sql(q, status:str, timeout:float=2.0, db:Path=None, contains:str=None, **kw):
    "Run `q`: it must end with `status` within timeout + 0.5 s and leave the database and its folder as they were."
    from text2sql_ft.execution import execute_sql
    db = db or DB
    before = _state(db)
    t0 = time.monotonic()
    r = execute_sql(db, q, timeout=timeout, **kw)
    took = time.monotonic() - t0
    assert r.status == status, f"status {r.status!r} ({r.error}), expected {status!r}"
    assert took <= timeout + 0.5, f"took {took:.2f}s with timeout={timeout}"
    assert contains is None or contains in (r.error or ""), f"error {r.error!r} lacks {contains!r}"
    assert _state(db) == before, "the database or its folder changed"
    return r

def raises(f, exc, *contains):
    "`f()` must raise `exc` whose message holds each of `contains`."
    try: f()
    except exc as e:
        for c in contains: assert c in str(e), f"{type(e).__name__}: {e!r} lacks {c!r}"
        return e
    except Exception as e: raise AssertionError(f"raised {type(e).__name__}: {e}, expected {exc.__name__}") from None
    raise AssertionError(f"did not raise {exc.__name__}")

def cli(argv:list, code:int, *contains):
    "`text2sql-ft argv` in this process: exit status `code`, a message (no traceback) holding each of `contains`."
    from text2sql_ft.cli import main
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        try: rc = main(argv)
        except SystemExit as e: rc = e.code
    msg = err.getvalue() + out.getvalue()
    assert rc == code, f"exit {rc}, expected {code}: {msg[-500:]}"
    assert "Traceback" not in msg, msg[-1500:]
    for c in contains: assert c in msg, f"message {msg[-400:]!r} lacks {c!r}"
    return msg

def _write(name:str, data)->Path:
    p = HERE/name; p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data if isinstance(data, bytes) else data.encode())
    return p

def _tables(**changes)->list:
    "A valid one-database tables.json entry, with `changes` applied."
    e = dict(db_id="probe", table_names_original=["singer", "song"], table_names=["singer", "song"],
             column_names_original=[[-1, "*"], [0, "id"], [0, "name"], [1, "sid"], [1, "singer_id"]],
             column_names=[[-1, "*"], [0, "id"], [0, "name"], [1, "sid"], [1, "singer id"]],
             column_types=["text", "number", "text", "number", "number"], primary_keys=[1, 3], foreign_keys=[[4, 1]])
    return [{**e, **changes}]

def _load_tables(entries)->None:
    from text2sql_ft.data import load_tables
    load_tables(_write("tables.json", json.dumps(entries)))

# ---------------------------------------------------------------- 1. memory
BLOB = "zeroblob(9000000)"
@probe(1, "150 columns of 9 MB blobs")
def _(): sql("SELECT " + ", ".join([BLOB] * 150), "too_large")
@probe(1, "400 columns of 9 MB blobs")
def _(): sql("SELECT " + ", ".join([BLOB] * 400), "too_large")
@probe(1, "9,000 rows of a 9 MB blob")
def _(): sql(f"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 9000) SELECT {BLOB} FROM c", "too_large")
@probe(1, "100 rows of 1 MB text (over the 64 MB default in total)")
def _(): sql("SELECT printf('%.*c', 1000000, 'x') FROM singer LIMIT 100", "too_large")
@probe(1, "a byte cap of 1 MB set by the caller")
def _(): sql("SELECT name, printf('%.*c', 2000, 'x') FROM singer", "too_large", max_bytes=1_000_000, contains="bytes")
@probe(1, "20 columns of 5 MB random blobs")
def _(): sql("SELECT " + ", ".join(["randomblob(5000000)"] * 20), "too_large")
@probe(1, "an ordinary wide result is still ok")
def _(): assert len(sql("SELECT * FROM singer, song LIMIT 5000", "ok").rows) == 5000

# ---------------------------------------------------------------- 2. exceptions
@probe(2, "NUL then DROP")
def _(): assert not sql("SELECT 1\x00; DROP TABLE singer", "error").ok
@probe(2, "a lone surrogate")
def _(): sql("SELECT '\ud800'", "error", contains="not valid text")
@probe(2, "a NUL inside a string literal")
def _(): sql("SELECT 'a\x00b' FROM singer", "error", contains="NUL")
@probe(2, "None instead of SQL")
def _(): sql(None, "error")
@probe(2, "bytes instead of SQL")
def _(): sql(b"SELECT 1", "error")
@probe(2, "score() keeps every row when predictions are hostile")
def _():
    from text2sql_ft.data import Example, schema_from_sqlite
    from text2sql_ft.evaluation import score
    s = schema_from_sqlite(DB, "shop")
    exs = [Example("shop", "How many singers?", "SELECT count(*) FROM singer", s, db_path=DB)] * 5
    preds = ["SELECT count(*) FROM singer", "SELECT 1\x00; DROP TABLE singer", "SELECT '\ud800'", None, "(" * 5000 + "1"]
    rows = score(exs, preds, dbs={"shop": [DB]}, timeout=1.0)
    assert [r["ex"] for r in rows] == [True, False, False, False, False], [(r["ex"], r["status"]) for r in rows]

# ---------------------------------------------------------------- 3. timeouts
def _holder(db:Path, script:str)->subprocess.Popen:
    "A second process that works on `db` (holding a lock, or writing); started when it prints 'ready'."
    code = f"import sqlite3, sys, time\ncon = sqlite3.connect(sys.argv[1], isolation_level=None)\n{script}"
    p = subprocess.Popen([sys.executable, "-c", code, str(db)], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "ready"
    return p

@probe(3, "a database locked by another process")
def _():
    db = _db(HERE/"locked.sqlite")
    p = _holder(db, "con.execute('BEGIN EXCLUSIVE'); con.execute('UPDATE singer SET age = age')\nprint('ready', flush=True); time.sleep(20)")
    try:
        t0 = time.monotonic(); from text2sql_ft.execution import execute_sql
        r = execute_sql(db, "SELECT count(*) FROM singer", timeout=1.0)
        assert time.monotonic() - t0 <= 1.5 and r.status in ("ok", "error", "timeout"), (r, time.monotonic() - t0)
    finally: p.kill(); p.wait()
@probe(3, "a busy writer")
def _():
    db = _db(HERE/"busy.sqlite")
    p = _holder(db, "print('ready', flush=True)\nwhile True:\n    con.execute('BEGIN IMMEDIATE'); con.execute('UPDATE singer SET age = age + 1'); time.sleep(0.3); con.execute('COMMIT')")
    try:
        from text2sql_ft.execution import execute_sql
        for _ in range(5):
            t0 = time.monotonic(); r = execute_sql(db, "SELECT sum(age) FROM singer", timeout=1.0)
            assert time.monotonic() - t0 <= 1.5, (r, time.monotonic() - t0)
    finally: p.kill(); p.wait()
@probe(3, "results_match on 10 alternating 0/1 columns that differ")
def _():
    from text2sql_ft.execution import results_match
    gold = [tuple((i + j) % 2 for j in range(10)) for i in range(40)]
    pred = [list(r) for r in gold]; pred[0][3], pred[1][3] = pred[1][3], pred[0][3]
    t0 = time.monotonic(); assert results_match(gold, [tuple(r) for r in pred], False) is False
    assert time.monotonic() - t0 < 1.0, time.monotonic() - t0
@probe(3, "results_match on 14 columns of one value each, reversed")
def _():
    from text2sql_ft.execution import results_match
    gold = [tuple(range(14))] * 3 + [tuple(range(13, -1, -1))]
    t0 = time.monotonic(); assert results_match(gold, [r[::-1] for r in gold], False) is True
    assert time.monotonic() - t0 < 1.0
@probe(3, "execution_match of 12 equal-valued columns honours the deadline")
def _():
    cols = ", ".join(f"(id + {j}) % 2" for j in range(12))
    from text2sql_ft.execution import execution_match
    t0 = time.monotonic(); execution_match(DB, f"SELECT {cols} FROM singer LIMIT 50", f"SELECT {cols} FROM singer LIMIT 50 OFFSET 1", timeout=1.0)
    assert time.monotonic() - t0 < 2.5, time.monotonic() - t0
@probe(3, "an endless recursive CTE")
def _(): sql("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c", "timeout", timeout=1.0)
@probe(3, "a three-way cross join")
def _(): sql("SELECT count(*) FROM singer a, singer b, singer c", "timeout", timeout=1.0)

# ---------------------------------------------------------------- 4. matcher
@probe(4, "test_suite_match with no databases")
def _():
    from text2sql_ft.execution import test_suite_match
    raises(lambda: test_suite_match([], "SELECT name FROM singer", "SELECT 'garbage'"), ValueError, "at least one database")
@probe(4, "test_suite_match with an empty tuple of databases")
def _():
    from text2sql_ft.execution import test_suite_match
    raises(lambda: test_suite_match((), "SELECT name FROM singer", "SELECT name FROM singer"), ValueError, "at least one database")
@probe(4, "'order by' inside a string literal")
def _():
    from text2sql_ft.execution import has_order_by
    assert not has_order_by("SELECT name FROM singer WHERE name = 'order by'")
@probe(4, "ORDER BY in a double-quoted string and a comment")
def _():
    from text2sql_ft.execution import has_order_by
    assert not has_order_by('SELECT name FROM singer WHERE name = "x order by y" -- order by name')
    assert has_order_by("SELECT name FROM singer WHERE name = 'a' ORDER BY name")
@probe(4, "a reply cut off mid-string is a syntax error, not denied")
def _(): sql("SELECT name FROM singer WHERE name = 'Fra", "error", contains="incomplete")
@probe(4, "cut off inside a quoted identifier")
def _(): sql('SELECT "name FROM singer', "error", contains="incomplete")
@probe(4, "a second statement is still denied")
def _(): sql("SELECT 1; SELECT 2", "denied")
@probe(4, "an unmatched prediction with equal column multisets is not a match")
def _():
    from text2sql_ft.execution import results_match
    assert not results_match([(1, 2), (2, 1)], [(1, 1), (2, 2)], False)

# ---------------------------------------------------------------- 5. SQLite surface
@probe(5, "fts3_tokenizer with one argument")
def _(): sql("SELECT fts3_tokenizer('simple')", "denied")
@probe(5, "fts3_tokenizer with two arguments")
def _(): sql("SELECT fts3_tokenizer('simple', x'0000000000000000')", "denied")
@probe(5, "load_extension")
def _(): sql("SELECT load_extension('/nowhere/evil')", "denied")
@probe(5, "reading a WAL-mode database leaves no -wal or -shm files")
def _():
    d = HERE/"wal"; d.mkdir(exist_ok=True)
    db = _db(d/"wal.sqlite", wal=True)
    assert sql("SELECT count(*) FROM singer", "ok", db=db).rows == [(2000,)]
    assert sorted(os.listdir(d)) == ["wal.sqlite"], os.listdir(d)
for _q in ["DROP TABLE singer", "DELETE FROM singer", "INSERT INTO singer VALUES (99999, 'x', 1, 'y')", "UPDATE singer SET name = 'x'",
           "CREATE TABLE u (x)", f"ATTACH '{HERE}/x.db' AS x", f"VACUUM INTO '{HERE}/copy.db'", "PRAGMA writable_schema = 1",
           "BEGIN IMMEDIATE", "/* hide */ DROP TABLE singer", "WITH x AS (SELECT 1) DELETE FROM singer",
           "SELECT 1; -- ok\n DROP TABLE singer"]:
    probe(5, f"denied: {_q[:40]!r}")(lambda q=_q: sql(q, "denied"))

# ---------------------------------------------------------------- 6. paths
def _escape(db_id:str):
    "A JSONL row whose db_id tries to leave the cache: synthesis must write only inside the cache."
    from text2sql_ft.assets import cache_dir
    from text2sql_ft.data import load_jsonl
    from text2sql_ft.synthesis import databases_for
    target = HERE/"escape_target"
    row = dict(db_id=db_id, question="q", query="SELECT a FROM t", schema="CREATE TABLE t (a INT)")
    exs = load_jsonl(_write("escape.jsonl", json.dumps(row) + "\n"))
    dbs = databases_for(exs, k=1)
    for paths in dbs.values():
        for p in paths: assert Path(p).resolve().is_relative_to(Path(cache_dir()).resolve()/"synth"), p
    assert not target.exists() and not (HERE.parent/"escape_target").exists()
@probe(6, "db_id ../../escape_target/evil")
def _(): _escape(f"../../{HERE.name}/escape_target/evil")
@probe(6, "an absolute db_id")
def _(): _escape(str(HERE/"escape_target"/"evil"))
@probe(6, "db_id ..")
def _(): _escape("..")

# ---------------------------------------------------------------- 7. English taken for SQL
@probe(7, "'Please select a table first.' holds no SQL")
def _():
    from text2sql_ft.generation import extract_sql
    assert extract_sql("Please select a table first.") == ""
@probe(7, "'I can select the rows for you.' holds no SQL")
def _():
    from text2sql_ft.generation import extract_sql
    assert extract_sql("I can select the rows for you.") == ""
@probe(7, "SQL after an English 'With' is still found")
def _():
    from text2sql_ft.generation import extract_sql
    assert extract_sql("With pleasure: SELECT name FROM singer") == "SELECT name FROM singer"
@probe(7, "predict --question of spaces")
def _(): cli(["predict", "--question", "   ", "--schema", "CREATE TABLE t (a INT)", "--model", str(HERE/"no-model")], 1, "--question is empty")
@probe(7, "predict --question ''")
def _(): cli(["predict", "--question", "", "--schema", "CREATE TABLE t (a INT)", "--model", str(HERE/"no-model")], 1, "--question is empty")

# ---------------------------------------------------------------- 8. late failures and tracebacks
@probe(8, "evaluate --out_dir naming a file fails before any work")
def _():
    f = _write("a-file", "x")
    t0 = time.monotonic(); cli(["evaluate", "--model", "smollm2-135m", "--out_dir", str(f)], 1, "is a file")
    assert time.monotonic() - t0 < 5
@probe(8, "tables.json that is null")
def _():
    from text2sql_ft.data import DataError
    raises(lambda: _load_tables(None), DataError, "tables.json", "JSON array")
@probe(8, "tables.json that is an object")
def _():
    from text2sql_ft.data import DataError
    raises(lambda: _load_tables({"db_id": "x"}), DataError, "JSON array")
@probe(8, "--config naming a folder")
def _(): cli(["train", "--config", str(HERE)], 1, "is a folder")
@probe(8, "max_steps: .inf")
def _():
    out = HERE/"inf-run"
    cli(["train", "--config", str(_write("inf.yaml", f"max_steps: .inf\noutput_name: {out}\n"))], 1, "max_steps")
    assert not out.exists()
@probe(8, "num_epochs: .inf")
def _():
    out = HERE/"inf-run2"
    cli(["train", "--config", str(_write("inf2.yaml", f"num_epochs: .inf\noutput_name: {out}\n"))], 1, "num_epochs", "finite")
    assert not out.exists()
@probe(8, "--hub_repo while the Hub can't be reached fails before training")
def _():
    from text2sql_ft.config import FinetuneConfig
    from text2sql_ft.sft import train
    out, old = HERE/"hub-run", os.environ.get("HF_TOKEN")
    os.environ["HF_TOKEN"] = "hf_probe_not_a_real_token"
    try: e = raises(lambda: train(FinetuneConfig(hub_repo="me/x", output_name=str(out), model_name=str(HERE/"no-model"))), ConnectionError, "hub_repo")
    finally:
        if old is None: os.environ.pop("HF_TOKEN", None)
        else: os.environ["HF_TOKEN"] = old
    assert "hf_probe" not in str(e) and not out.exists()
@probe(8, "evaluate --batch_size 0")
def _(): cli(["evaluate", "--batch_size", "0"], 2, "--batch_size", "at least 1")
@probe(8, "learning_rate 'abc' through the Python API")
def _():
    from text2sql_ft.config import FinetuneConfig
    raises(lambda: FinetuneConfig(learning_rate="abc").check(), ValueError, "learning_rate")
@probe(8, "generate_replies with batch_size 0")
def _():
    from text2sql_ft.generation import generate_replies
    raises(lambda: generate_replies(None, None, [], batch_size=0), ValueError, "batch_size")

# ---------------------------------------------------------------- 9. messages that say where
@probe(9, "a Latin-1 byte in a JSONL file")
def _():
    from text2sql_ft.data import DataError, load_jsonl
    p = _write("latin1.jsonl", b'{"db_id": "x", "question": "caf\xe9", "query": "SELECT 1", "schema": "CREATE TABLE t (a INT)"}\n')
    raises(lambda: load_jsonl(p), DataError, "latin1.jsonl:1", "not UTF-8")
@probe(9, "a Latin-1 byte in a YAML config")
def _(): cli(["train", "--config", str(_write("latin1.yaml", b"model_name: caf\xe9\n"))], 1, "latin1.yaml", "UTF-8")
@probe(9, "a column whose table index is out of range")
def _():
    from text2sql_ft.data import DataError
    raises(lambda: _load_tables(_tables(column_names_original=[[-1, "*"], [0, "id"], [7, "name"], [1, "sid"], [1, "singer_id"]])),
           DataError, "column_names_original[2]", "out of range")
@probe(9, "a primary-key index out of range")
def _():
    from text2sql_ft.data import DataError
    raises(lambda: _load_tables(_tables(primary_keys=[1, 99])), DataError, "primary_keys", "99")
@probe(9, "a foreign-key index out of range")
def _():
    from text2sql_ft.data import DataError
    raises(lambda: _load_tables(_tables(foreign_keys=[[4, 1], [4, 50]])), DataError, "foreign_keys[1]", "50")
@probe(9, "sql-create-context: a broken line")
def _():
    from text2sql_ft.data import DataError, load_sql_create_context
    good = json.dumps(dict(question="q", answer="SELECT a FROM t", context="CREATE TABLE t (a INT)"))
    p = _write("scc.jsonl", good + "\n{broken\n" + good + "\n")
    raises(lambda: load_sql_create_context(str(p)), DataError, "scc.jsonl:2", "invalid JSON")
@probe(9, "sql-create-context: a null context")
def _():
    from text2sql_ft.data import DataError, load_sql_create_context
    p = _write("scc2.jsonl", json.dumps(dict(question="q", answer="SELECT 1", context=None)) + "\n")
    raises(lambda: load_sql_create_context(str(p)), DataError, "scc2.jsonl:1", "'context'")
@probe(9, "a 0-byte .sqlite file")
def _():
    from text2sql_ft.data import schema_from_sqlite
    raises(lambda: schema_from_sqlite(_write("empty.sqlite", b"")), ValueError, "empty.sqlite", "0 bytes")
@probe(9, "a file that is not SQLite")
def _(): sql("SELECT count(*) FROM singer", "error", db=_write("notdb/not.sqlite", b"hello" * 100), contains="not a database")

# ---------------------------------------------------------------- 10. bad input accepted silently
@probe(10, "lora_r: 16.5")
def _(): cli(["train", "--config", str(_write("r1.yaml", "lora_r: 16.5\n"))], 1, "lora_r", "whole number")
@probe(10, "lora_r: true")
def _(): cli(["train", "--config", str(_write("r2.yaml", "lora_r: true\n"))], 1, "lora_r")
@probe(10, "lora_r=True through the Python API")
def _():
    from text2sql_ft.config import FinetuneConfig
    raises(lambda: FinetuneConfig(lora_r=True).check(), ValueError, "lora_r")
@probe(10, "duplicate db_ids in tables.json")
def _():
    from text2sql_ft.data import DataError
    raises(lambda: _load_tables(_tables() + _tables()), DataError, "tables.json[1]", "'probe'")
@probe(10, "a column whose table index is -2")
def _():
    from text2sql_ft.data import DataError
    raises(lambda: _load_tables(_tables(column_names_original=[[-1, "*"], [0, "id"], [-2, "name"], [1, "sid"], [1, "singer_id"]])),
           DataError, "column_names_original[2]")
@probe(10, "evaluate --limit -1")
def _(): cli(["evaluate", "--limit", "-1"], 2, "--limit")
@probe(10, "evaluate --limit 0")
def _(): cli(["evaluate", "--limit", "0"], 2, "--limit")
@probe(10, "an empty JSONL with --split all")
def _(): cli(["evaluate", "--data", f"jsonl:{_write('empty.jsonl', '')}", "--split", "all", "--out_dir", str(HERE/"e")], 1, "no examples")
@probe(10, "a JSONL of blank lines with --split all")
def _(): cli(["evaluate", "--data", f"jsonl:{_write('blank.jsonl', chr(10) * 5)}", "--split", "all", "--out_dir", str(HERE/"e")], 1, "no examples")
@probe(10, "synth --n 0")
def _(): cli(["synth", "--data", "spider-train-schemas", "--n", "0", "--out", str(HERE/"p.jsonl")], 2, "--n")

PROBE_LIMIT = 60  # seconds

def run(selected=None)->tuple[int,int]:
    "Run the probes (all, or those whose names are in `selected`); print one line each and the totals."
    passed = failed = 0
    def too_long(*_): raise TimeoutError(f"still running after {PROBE_LIMIT}s")
    signal.signal(signal.SIGALRM, too_long)  # a probe that hangs fails; the suite goes on
    for family, name, f in PROBES:
        if selected and name not in selected: continue
        t0 = time.monotonic()
        signal.alarm(PROBE_LIMIT)
        try: f(); ok, why = True, ""
        except Exception as e: ok, why = False, f"{type(e).__name__}: {e}"[:300]
        finally: signal.alarm(0)
        passed += ok; failed += not ok
        print(f"{'PASS' if ok else 'FAIL'} [{family}] {name} ({time.monotonic() - t0:.1f}s){'  ' + why if why else ''}", flush=True)
    print(f"{passed} passed, {failed} failed")
    return passed, failed

if __name__ == "__main__":
    sys.exit(1 if run(set(sys.argv[1:]) or None)[1] else 0)
