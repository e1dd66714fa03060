"""`make gpu-check`: the CUDA path, checked on a GPU in one run; `--dry-run` runs every step on tiny shapes on the CPU.

Sized for the `device` tool (at most 8 minutes on an H100, no weights travel: random-weight models of the real shapes,
a tokenizer trained on the fly, pairs written here). Steps, each a part of the JSON it writes (`--out`):
- t4: a T4 emulated (fp16 AMP with a gradient scaler, bf16 reported unsupported, memory capped at 15 GB): QLoRA NF4
  steps through `train` on the Qwen2.5-Coder-0.5B, Qwen2.5-Coder-1.5B and Gemma-2B shapes: the losses are finite, no
  trainable parameter is bf16, peak memory against the preflight's estimate;
- bf16 (compute capability 8.0 and up): the same in bf16, plus LoRA on an unquantized base;
- generation: the fast decoding path against `model.generate` (fp32, a toy model whose replies differ), identical share;
- rationale: `trainer_vs_sft_loss` with the model on the GPU (the lesson's `use_cpu` fix);
- p6: ours against the baseline recipe (tokens/s) on the Gemma-2B shape, MFU against the card's peak.

Wheels the GPU machine lacks (its image has torch, transformers 5.17, accelerate 1.15, peft): `make gpu-wheels` puts
them in .whl/ (under 64 MiB); the device call installs them first (see the Makefile).
"""
import argparse, json, math, os, platform, subprocess, sys, tempfile, time
from contextlib import ExitStack
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
SHAPES = {   # the real shapes (config.json of each model on the Hub)
    "qwen2.5-coder-0.5b": ("qwen2", dict(hidden_size=896, intermediate_size=4864, num_hidden_layers=24, num_attention_heads=14,
                                         num_key_value_heads=2, vocab_size=151936, tie_word_embeddings=True)),
    "qwen2.5-coder-1.5b": ("qwen2", dict(hidden_size=1536, intermediate_size=8960, num_hidden_layers=28, num_attention_heads=12,
                                         num_key_value_heads=2, vocab_size=151936, tie_word_embeddings=True)),
    "gemma-2b": ("gemma", dict(hidden_size=2048, intermediate_size=16384, num_hidden_layers=18, num_attention_heads=8,
                               num_key_value_heads=1, head_dim=256, vocab_size=256000))}
TINY = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
            head_dim=16, vocab_size=1024)
T4_BYTES = 15e9

def build(arch:str, dims:dict, out:Path, tok, dtype, device:str)->int:
    "Save a random-weight model of `arch` and `dims` (built on `device`, in `dtype`) with `tok` to `out`; its parameters."
    import torch
    from transformers import GemmaConfig, GemmaForCausalLM, Qwen2Config, Qwen2ForCausalLM
    cfg_cls, model_cls = {"qwen2": (Qwen2Config, Qwen2ForCausalLM), "gemma": (GemmaConfig, GemmaForCausalLM)}[arch]
    cfg = cfg_cls(**dims, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    torch.manual_seed(0)
    with torch.device(device): model = model_cls._from_config(cfg, dtype=dtype)
    model.save_pretrained(out); tok.save_pretrained(out)
    n = sum(p.numel() for p in model.parameters())
    del model
    return n

def toy_pairs(path:Path, n_dbs:int=8, per_db:int=12)->Path:
    "Question/SQL pairs over `n_dbs` small databases, each row with its schema inline (no data set travels)."
    rows = []
    for d in range(n_dbs):
        ddl = f"CREATE TABLE singer_{d} (id INTEGER PRIMARY KEY, name TEXT, age INTEGER, country TEXT)"
        for q in range(per_db):
            rows.append(dict(db_id=f"db{d}", schema=ddl, question=f"How many singers of singer_{d} are older than {20 + q}?",
                             query=f"SELECT count(*) FROM singer_{d} WHERE age > {20 + q}"))
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path

def precisions():
    import torch
    from text2sql_ft.quantization import Precision
    return dict(t4=Precision("fp16", torch.float16, True, "a T4, emulated: fp16 AMP, trainable weights fp32"),
                bf16=Precision("bf16", torch.bfloat16, True, "compute capability >= 8.0"),
                fp32=Precision("fp32", torch.float32, True, "the CPU dry run"))

def train_steps(model_dir:Path, pairs:Path, work:Path, precision, quant:str, steps:int)->dict:
    "`steps` optimizer steps through `train` under `precision`: losses, trainable dtypes, peak memory against the estimate."
    import torch
    from transformers import AutoConfig, AutoTokenizer, TrainerCallback
    from text2sql_ft import lora, quantization, sft
    from text2sql_ft.config import FinetuneConfig
    from text2sql_ft.quantization import estimate_training_memory
    cfg = FinetuneConfig(model_name=str(model_dir), dataset_id=f"jsonl:{pairs}", output_name=str(work), quant=quant,
                         max_steps=steps, train_batch_size=4, learning_rate=1e-4, save_steps=10_000, eval_steps=10_000,
                         logging_steps=1, report_to="none", eval_loss_examples=4, max_length=256)
    seen = {}
    class Watch(TrainerCallback):
        def on_train_begin(self, args, state, control, model=None, **kw):
            seen["trainable"] = sorted({str(p.dtype) for p in model.parameters() if p.requires_grad})
            seen["fp16_amp"] = bool(args.fp16)
    cuda = torch.cuda.is_available()
    with ExitStack() as stack:
        for mod in (quantization, sft, lora): stack.enter_context(mock.patch.object(mod, "pick_precision", return_value=precision))
        if cuda: torch.cuda.empty_cache(); torch.cuda.reset_peak_memory_stats()
        t0 = time.time()
        res = sft.train(cfg, callbacks=[Watch()], progress=False)
        seconds = time.time() - t0
    peak = torch.cuda.max_memory_allocated() if cuda else None
    data = sft.prepare_data(cfg, AutoTokenizer.from_pretrained(model_dir))
    longest = max(map(len, data.train["input_ids"]))
    answer = max(sum(t != -100 for t in labels) for labels in data.train["labels"])
    est = estimate_training_memory(AutoConfig.from_pretrained(model_dir), quant, precision.name, sft.rows_per_step(cfg),
                                   longest, answer, cfg.lora_r).total
    losses = list(res.losses().values())
    return dict(quant=quant, precision=precision.name, steps=len(losses), losses=losses,
                finite=bool(losses) and all(math.isfinite(l) for l in losses), trainable_dtypes=seen.get("trainable"),
                no_bf16_trainable="torch.bfloat16" not in (seen.get("trainable") or []) if precision.name == "fp16" else None,
                fp16_amp=seen.get("fp16_amp"), seconds=seconds, peak_gb=peak / 1e9 if peak else None, estimate_gb=est / 1e9,
                peak_over_estimate=peak / est if peak else None)

def generation_check(work:Path, pairs:Path, device:str, n:int)->dict:
    "The fast path against `model.generate` in fp32 on a toy model whose replies differ: share identical."
    from text2sql_ft.data import load_jsonl
    from text2sql_ft.generation import generate_replies
    from text2sql_ft.toy import toy_model, toy_tokenizer
    tok = toy_tokenizer()
    model = toy_model(tok, hidden_size=64, init_std=0.5).to(device).float().eval()   # wide weights: replies differ
    examples = list(load_jsonl(pairs))[:n]
    kw = dict(batch_size=16, max_new_tokens=16, style="compact", progress=False, stop=None)
    fast, ref = generate_replies(model, tok, examples, engine="fast", **kw), generate_replies(model, tok, examples, engine="generate", **kw)
    same = sum(a == b for a, b in zip(fast, ref))
    return dict(n=len(examples), identical=same, identical_share=same / len(examples), distinct_replies=len(set(ref)))

def rationale_check(device:str)->dict:
    "`trainer_vs_sft_loss` with the model on `device`: both trainers give the same loss."
    from text2sql_ft.data import load_jsonl
    from text2sql_ft.rationale import trainer_vs_sft_loss
    from text2sql_ft.toy import toy_model, toy_tokenizer
    tok = toy_tokenizer()
    pairs = toy_pairs(Path(tempfile.mkdtemp())/"p.jsonl", 2, 4)
    plain, sft = trainer_vs_sft_loss(lambda: toy_model(tok).to(device), tok, list(load_jsonl(pairs)))
    return dict(plain=plain, sft=sft, same=abs(plain - sft) < 1e-4)

def p6(tok, pairs:Path, dry:bool, n:int)->dict:
    "Ours against the baseline recipe on the Gemma-2B shape (a small one in the dry run), MFU against the card's peak."
    from text2sql_ft.bench import bench_gemma
    r = bench_gemma(n_examples=n, batch_size=4, gpu=not dry, tokenizer=tok, dataset_id=f"jsonl:{pairs}")
    o, b = r["runs"]["ours"], r["runs"]["baseline"]
    return dict(shape=r["shape"], params=r["params"], device=r["device"], tokens_per_s_ours=o["tokens_per_s"],
                tokens_per_s_baseline=b["tokens_per_s"], ours_over_baseline=o["tokens_per_s"] / b["tokens_per_s"],
                mfu_ours=o["mfu"], mfu_baseline=b["mfu"], peak_gb_ours=o["peak_mem_gb"], peak_gb_baseline=b["peak_mem_gb"])

def emulate_t4(stack:ExitStack):
    "fp16 only (bf16 reported unsupported) and at most 15 GB of the card."
    import torch
    stack.enter_context(mock.patch("torch.cuda.is_bf16_supported", return_value=False))
    total = torch.cuda.mem_get_info()[1]
    torch.cuda.set_per_process_memory_fraction(min(1.0, T4_BYTES / total))

def main(argv=None)->int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dry-run", action="store_true", help="every step on tiny shapes on the CPU (what CI runs)")
    ap.add_argument("--out", default="gpu_check.json", help="the JSON written")
    ap.add_argument("--steps", type=int, default=None, help="optimizer steps per training check (default 3; 2 dry)")
    a = ap.parse_args(argv)
    import torch
    from text2sql_ft.toy import toy_tokenizer
    from text2sql_ft.quantization import pick_precision
    if not a.dry_run and not torch.cuda.is_available(): print("no CUDA device: use --dry-run"); return 2
    dry, t0 = a.dry_run, time.time()
    device, steps = ("cpu" if dry else "cuda"), a.steps or (2 if dry else 3)
    work = Path(tempfile.mkdtemp(prefix="gpu-check-"))
    tok, pairs, P = toy_tokenizer(), toy_pairs(work/"pairs.jsonl"), precisions()
    cap = torch.cuda.get_device_capability() if not dry else None
    out = dict(dry_run=dry, device=torch.cuda.get_device_name() if not dry else f"cpu ({platform.processor() or platform.machine()})",
               capability=".".join(map(str, cap)) if cap else None, torch=torch.__version__, t4={}, bf16={}, lora_bf16={},
               command=" ".join([Path(sys.argv[0]).name, *(argv if argv is not None else sys.argv[1:])]))
    def step(name, fn):
        t = time.time(); print(f"{name} ...", flush=True)
        try: r = fn()
        except Exception as e: r = dict(error=f"{type(e).__name__}: {str(e).splitlines()[0][:300] if str(e) else ''}")
        print(f"{name}: {json.dumps(r, default=str)[:400]} ({time.time() - t:.0f}s)", flush=True)
        return r
    shapes = {k: (arch, TINY if dry else dims) for k, (arch, dims) in SHAPES.items()}
    for key, (arch, dims) in shapes.items():   # a T4: fp16 AMP, no bf16, 15 GB
        d = work/key
        out.setdefault("params", {})[key] = build(arch, dims, d, tok, torch.float16 if not dry else torch.float32, device)
        with ExitStack() as stack:
            if not dry: emulate_t4(stack)
            out["t4"][key] = step(f"t4 {key}", lambda: train_steps(d, pairs, work/f"t4-{key}", P["t4"], "nf4", steps))
            if not dry: torch.cuda.set_per_process_memory_fraction(1.0)
        if dry or cap[0] >= 8:
            out["bf16"][key] = step(f"bf16 {key}", lambda: train_steps(d, pairs, work/f"bf-{key}", P["bf16"], "nf4", steps))
            out["lora_bf16"][key] = step(f"lora {key}", lambda: train_steps(d, pairs, work/f"lo-{key}", P["bf16"], "none", steps))
        else: out["bf16"][key] = out["lora_bf16"][key] = dict(skipped=f"compute capability {cap[0]}.{cap[1]} < 8.0: no bf16")
    out["generation"] = step("generation", lambda: generation_check(work, pairs, device, 32 if dry else 96))
    out["rationale"] = step("rationale", lambda: rationale_check(device))
    out["p6"] = step("p6", lambda: p6(tok, pairs, dry, 8 if dry else 64))
    out["precision_here"] = pick_precision().name
    out["seconds"] = time.time() - t0
    out["ok"] = all(r.get("finite") and r.get("no_bf16_trainable") in (True, None) for r in out["t4"].values()) and \
        all("error" not in r for part in ("bf16", "lora_bf16") for r in out[part].values()) and \
        out["generation"].get("identical_share", 0) >= 0.99 and out["generation"].get("distinct_replies", 0) > 1 and \
        bool(out["rationale"].get("same")) and "error" not in out["p6"]
    Path(a.out).write_text(json.dumps(out, indent=1, default=str))
    print(f"gpu_check: {'ok' if out['ok'] else 'FAILED'} in {out['seconds']:.0f}s; wrote {a.out}")
    return 0 if out["ok"] else 1

if __name__ == "__main__": sys.exit(main())
