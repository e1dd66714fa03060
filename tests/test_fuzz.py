"""Fuzzing the executor: thousands of random token sequences, seeded and time-boxed. Each call returns a status within
its deadline plus half a second, and the database (bytes and folder listing) is unchanged afterwards."""
import hashlib, os, random, sqlite3, time
from pathlib import Path

KEYWORDS = """SELECT FROM WHERE GROUP BY HAVING ORDER LIMIT OFFSET UNION ALL INTERSECT EXCEPT WITH RECURSIVE AS JOIN LEFT ON
AND OR NOT IN EXISTS BETWEEN LIKE GLOB IS NULL CASE WHEN THEN ELSE END DISTINCT DROP DELETE INSERT UPDATE SET VALUES
CREATE TABLE ATTACH DETACH PRAGMA VACUUM INTO BEGIN COMMIT ROLLBACK REINDEX ANALYZE EXPLAIN QUERY PLAN""".split()
FUNCTIONS = """count( sum( max( min( avg( abs( length( substr( replace( printf( zeroblob( randomblob( hex( upper( lower(
group_concat( load_extension( fts3_tokenizer( json( json_extract( instr( coalesce( ifnull( typeof( unicode( char(""".split()
NAMES = ["t", "a", "b", "c", "x", "sqlite_master", "main.t", "temp.t", "*", "t.a", '"a"', "[b]", "`c`"]
PUNCT = ["(", ")", ",", ";", ".", "=", "<", ">", "<>", "!=", "+", "-", "*", "/", "%", "||", "--", "/*", "*/", "?", ":x", "@y"]
WEIRD = ["\x00", "\ud800", "\udfff", "\u202e", "\uffff", "é", "'", '"', "`", "[", "\n", "\t", "\\", "$1", "🙂"]

def literal(rng):
    return rng.choice([str(rng.randint(-10**6, 10**6)), f"{rng.random():.3f}", "'" + "x" * rng.randint(0, 20) + "'",
                       "x'00ff'", "NULL", "1e308", "9223372036854775808", "-0", "'it''s'"])

def structured_sql(rng):
    "A query that is often valid (so the engine really runs it), sometimes with a random token spliced in."
    def expr():
        r = rng.random()
        if r < 0.4: return rng.choice(["a", "b", "c", "*", "t.a", "rowid"])
        if r < 0.6: return literal(rng)
        return f"{rng.choice(FUNCTIONS)}{rng.choice(['a', 'b', 'c', literal(rng)])})"
    q = f"SELECT {', '.join(expr() for _ in range(rng.randint(1, 4)))} FROM {rng.choice(['t', 'x', 't, t AS u', 't JOIN x USING (a)'])}"
    if rng.random() < 0.5: q += f" WHERE a {rng.choice(['=', '<', '>', 'IN', 'LIKE', '<>'])} {literal(rng)}"
    if rng.random() < 0.3: q += f" GROUP BY {rng.choice(['a', 'b', '1'])}"
    if rng.random() < 0.3: q += f" ORDER BY {rng.choice(['a', 'b', '1', 'random()'])}"
    if rng.random() < 0.3: q += f" LIMIT {rng.randint(-1, 10**6)}"
    if rng.random() < 0.3:
        toks = q.split(" "); toks.insert(rng.randrange(len(toks) + 1), rng.choice(rng.choice([KEYWORDS, PUNCT, WEIRD]))); q = " ".join(toks)
    return q

def random_sql(rng):
    if rng.random() < 0.6: return structured_sql(rng)
    pools = [KEYWORDS, FUNCTIONS, NAMES, PUNCT, WEIRD]
    toks = []
    if rng.random() < 0.6: toks.append(rng.choice(["SELECT", "WITH", "select", "VALUES", "(SELECT"]))
    for _ in range(rng.randint(1, 25)):
        toks.append(literal(rng) if rng.random() < 0.2 else rng.choice(rng.choice(pools)))
    return (" " if rng.random() < 0.8 else "").join(toks)

def test_fuzz_execute_sql(tmp_path):
    from text2sql_ft.execution import STATUSES, execute_sql
    db = tmp_path/"fuzz.sqlite"
    con = sqlite3.connect(db)
    con.executescript("CREATE TABLE t (a INTEGER, b TEXT, c REAL); CREATE TABLE x (a INTEGER);")
    con.executemany("INSERT INTO t VALUES (?,?,?)", [(i, f"v{i}", i / 3) for i in range(300)])
    con.commit(); con.close()
    state = lambda: (hashlib.sha256(db.read_bytes()).hexdigest(), sorted(os.listdir(tmp_path)))
    before = state()
    rng, timeout, t_end = random.Random(20261124), 0.5, time.monotonic() + 120  # at most two minutes
    seen, n = {}, 0
    while n < 3000 and time.monotonic() < t_end:
        q = random_sql(rng)
        t0 = time.monotonic()
        r = execute_sql(db, q, timeout=timeout)
        took = time.monotonic() - t0
        assert r.status in STATUSES, (q, r)
        assert took <= timeout + 0.5, (q, r.status, took)
        seen[r.status] = seen.get(r.status, 0) + 1; n += 1
    assert n >= 2000, f"only {n} calls in the time box"
    assert state() == before
    assert seen.get("error", 0) and seen.get("denied", 0), seen   # the generator reaches both gates
    assert seen.get("ok", 0) >= n // 20, seen                     # and the engine itself, often
