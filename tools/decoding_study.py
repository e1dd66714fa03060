"""Greedy, guided, vote@4 and vote@8 on the same questions, from one draw: which decoding is worth its time.

The greedy replies and `--samples` (8) sampled replies per question are drawn once, each timed; every mode is then
derived from them exactly as `decode_sql` would choose: guided@4 takes the first of the first 4 samples that runs
where the greedy query does not, vote@k votes over the greedy query and the first k samples (`evaluation.vote`).
Each is scored (EX, TS, 95% intervals, the paired interval of its lift over greedy). Seconds per question: greedy's
and vote@8's are measured; guided's and vote@4's are greedy's plus the measured per-sample cost times the samples they
draw (guided samples only for the questions whose greedy query does not run). Writes JSON with the command, commit,
date and CPU.

    python tools/decoding_study.py --split all --out outputs/decoding_base.json
    python tools/decoding_study.py --adapter outputs/main/adapter --out outputs/decoding_main.json
"""
import argparse, json, sys, time
from pathlib import Path


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default=None, help="an offline model, a folder or a Hub id (default: the adapter's base, or the default model)")
    p.add_argument("--adapter", default=None, help="a PEFT adapter folder, merged into a copy of the base")
    p.add_argument("--data", default="spider-dev-offline")
    p.add_argument("--split", default="test", choices=["test", "train", "all"], help="database-disjoint split (test: the main job's)")
    p.add_argument("--limit", type=int, default=None, help="a seeded sample of the split (across its databases)")
    p.add_argument("--samples", type=int, default=8, help="samples drawn per question (vote@k uses the first k)")
    p.add_argument("--out", required=True, help="JSON file to write")
    a = p.parse_args(argv)
    from text2sql_ft.config import write_atomic
    from text2sql_ft.data import load_examples
    from text2sql_ft.evaluation import bootstrap_ci, execution_guided, paired_bootstrap_ci, score, summarize, vote
    from text2sql_ft.generation import Decoding, extract_sql, generate_replies, sample_replies
    from text2sql_ft.main_job import load_model_for_eval, provenance
    from text2sql_ft.sft import sample
    from text2sql_ft.synthesis import databases_for
    out = Path(a.out)
    if out.exists(): sys.exit(f"--out {out} exists; give another name")
    examples = sample(load_examples(a.data, a.split), a.limit, 0)
    model, tok = load_model_for_eval(a.model, a.adapter)
    dbs, d = databases_for(examples), Decoding()
    t0 = time.perf_counter()
    replies = generate_replies(model, tok, examples, style="compact")
    t1 = time.perf_counter()
    drawn = sample_replies(model, tok, examples, a.samples, d.temperature, d.top_p, seed=d.seed, style="compact")
    t2 = time.perf_counter()
    greedy_s, per_sample_s = (t1 - t0) / len(examples), (t2 - t1) / len(examples) / a.samples
    greedy = [extract_sql(r) for r in replies]
    drawn = [[extract_sql(s) for s in ss] for ss in drawn]
    where = {id(e): i for i, e in enumerate(examples)}
    modes, seconds = {"greedy": greedy}, {"greedy": greedy_s}
    k = min(4, a.samples)
    c0 = time.perf_counter()
    modes[f"guided@{k}"], tries = execution_guided(examples, greedy, dbs, lambda exs, n, s: [drawn[where[id(e)]][:n] for e in exs], k, 1)
    seconds[f"guided@{k}"] = greedy_s + per_sample_s * sum(tries) / len(examples) + (time.perf_counter() - c0) / len(examples)
    for n in sorted({min(4, a.samples), a.samples}):
        c0 = time.perf_counter()
        modes[f"vote@{n}"], _ = vote(examples, [[g] + ss[:n] for g, ss in zip(greedy, drawn)], dbs)
        seconds[f"vote@{n}"] = greedy_s + per_sample_s * n + (time.perf_counter() - c0) / len(examples)
    results = {}
    base_hits = None
    for name, preds in modes.items():
        rows = score(examples, preds, dbs)
        s = summarize(rows)
        hits = [r["ex"] for r in rows]
        base_hits = base_hits or hits
        results[name] = dict(ex=s["ex"], ts=s["ts"], ex_ci=s["ex_ci"], ts_ci=s["ts_ci"], n=s["n"],
                             changed=sum(p != g for p, g in zip(preds, greedy)), s_per_question=seconds[name],
                             ex_lift_vs_greedy_ci=list(paired_bootstrap_ci(base_hits, hits)),
                             ex_points_per_extra_s=(100 * (s["ex"] - results["greedy"]["ex"]) / (seconds[name] - greedy_s)
                                                    if name != "greedy" and seconds[name] > greedy_s else None))
        print(f"{name:9} EX {s['ex']:.1%} [{100*s['ex_ci'][0]:.1f}, {100*s['ex_ci'][1]:.1f}]  TS {s['ts']:.1%}  "
              f"changed {results[name]['changed']:>4}  {seconds[name]:.2f} s/question", flush=True)
    report = dict(**provenance(" ".join(["python tools/decoding_study.py", *(argv if argv is not None else sys.argv[1:])])),
                  model=a.model, adapter=a.adapter, data=a.data, split=a.split, n=len(examples),
                  n_databases=len({e.db_id for e in examples}), samples=a.samples, temperature=d.temperature, top_p=d.top_p,
                  greedy_s=t1 - t0, sampling_s=t2 - t1, modes=results,
                  timing_note="greedy and vote@N measured; guided and vote@4 = greedy + the measured per-sample cost x the samples "
                              "they draw, + their own execution time")
    out.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(out, lambda t: t.write_text(json.dumps(report, indent=1)))
    print(f"saved {out}")


if __name__ == "__main__":
    main()
