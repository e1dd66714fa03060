"""A live SQLite database in WAL mode (an application holds it open): read right, read-only, and no sidecar file made or removed."""
import os, sqlite3, subprocess, sys
from pathlib import Path

import pytest

WRITER = """
import sqlite3, sys
con = sqlite3.connect(sys.argv[1]); con.execute("PRAGMA journal_mode=WAL"); con.execute("PRAGMA wal_autocheckpoint=0")
con.execute("CREATE TABLE customer (id INTEGER PRIMARY KEY, name TEXT, city TEXT, age INTEGER)")
con.executemany("INSERT INTO customer VALUES (?, ?, ?, ?)", [(i, f"name{i}", f"city{i % 4}", 20 + i) for i in range(40)])
con.commit(); print("ready", flush=True); sys.stdin.readline()
"""

@pytest.fixture()
def live_app(tmp_path):
    app = tmp_path/"app.sqlite"
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(app)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert writer.stdout.readline().strip() == "ready"
    yield app
    writer.stdin.write("\n"); writer.stdin.flush(); writer.wait(timeout=10)

def test_execute_sql_sees_committed_rows(live_app):
    from text2sql_ft.execution import execute_sql
    files = sorted(os.listdir(live_app.parent))
    assert {"app.sqlite-wal", "app.sqlite-shm"} <= set(files)
    r = execute_sql(live_app, "SELECT count(*) FROM customer")
    assert (r.status, r.rows) == ("ok", [(40,)]), r.error
    for bad in ("UPDATE customer SET age = 0", "DROP TABLE customer", "CREATE TABLE x (a)"):
        assert execute_sql(live_app, bad).status in ("denied", "error")
    assert execute_sql(live_app, "SELECT sum(age) FROM customer").rows == [(sum(20 + i for i in range(40)),)]
    assert sorted(os.listdir(live_app.parent)) == files

def test_synth_reads_a_live_database(live_app):
    from text2sql_ft.pairs import synthesize_from_sqlite
    files = sorted(os.listdir(live_app.parent))
    pairs = synthesize_from_sqlite(live_app, 5, seed=0)
    assert pairs and all(e.db_id == "app" for e in pairs)
    assert sorted(os.listdir(live_app.parent)) == files

def test_a_closed_database_makes_no_sidecar(tmp_path):
    "A file no one holds open is read immutable: no -wal, -shm or -journal appears."
    from text2sql_ft.execution import execute_sql
    db = tmp_path/"shop.sqlite"
    con = sqlite3.connect(db); con.execute("PRAGMA journal_mode=WAL"); con.execute("CREATE TABLE t (a)"); con.execute("INSERT INTO t VALUES (1)")
    con.commit(); con.close()
    files = sorted(os.listdir(tmp_path))
    assert execute_sql(db, "SELECT a FROM t").rows == [(1,)]
    assert sorted(os.listdir(tmp_path)) == files == ["shop.sqlite"]

def test_evaluate_scores_on_a_live_database(live_app):
    "Evaluation's scoring runs gold and predicted SQL on the live file: its committed rows decide EX."
    from text2sql_ft.data import Example, schema_from_sqlite
    from text2sql_ft.evaluation import score
    files = sorted(os.listdir(live_app.parent))
    schema = schema_from_sqlite(live_app)
    golds = ["SELECT count(*) FROM customer", "SELECT name FROM customer WHERE age > 50"]
    exs = [Example("app", f"q{i}?", g, schema, db_path=live_app) for i, g in enumerate(golds)]
    rows = score(exs, golds + [], {"app": [live_app]})
    assert [r["ex"] for r in rows] == [True, True]
    wrong = score(exs, ["SELECT count(*) FROM customer WHERE age > 30", golds[1]], {"app": [live_app]})
    assert [r["ex"] for r in wrong] == [False, True]
    assert sorted(os.listdir(live_app.parent)) == files
