"""Training as a user runs it: kill-safe resume, two-process DDP, and no token leaking into outputs.

All on a toy model (2-layer Llama, tokenizer trained here) so they run in seconds on a CPU, through the same
`train` / `text2sql-ft` code paths as the real model."""
import json, os, shutil, signal, subprocess, sys
from pathlib import Path
import pytest
from conftest import run_cli

TRAIN_SCRIPT = """
import json, os, signal, sys
from pathlib import Path
from transformers import TrainerCallback
from text2sql_ft.config import FinetuneConfig
from text2sql_ft.sft import train
cfg = FinetuneConfig.from_yaml(sys.argv[1])
kill_after = int(sys.argv[2]) if len(sys.argv) > 2 else None
class KillAfterSave(TrainerCallback):
    def on_save(self, args, state, control, **kw):
        if state.global_step == kill_after:
            print(f"killing after checkpoint {kill_after}", flush=True)
            os.kill(os.getpid(), signal.SIGKILL)
res = train(cfg, callbacks=[KillAfterSave()] if kill_after else None, progress=False)
print(f"resumed from: {res.resumed_from}", flush=True)
"""

def _config(toy_dir, out, **kw):
    from text2sql_ft.config import FinetuneConfig
    base = dict(model_name=str(toy_dir), output_name=str(out), train_limit=24, eval_limit=4, max_steps=8,
                train_batch_size=4, save_steps=3, eval_steps=4, logging_steps=1, learning_rate=5e-3, max_length=4096,
                report_to="none", lora_dropout=0.1)
    return FinetuneConfig(**{**base, **kw})

def _run_train(cfg_path, *extra):
    return subprocess.run([sys.executable, "-c", TRAIN_SCRIPT, str(cfg_path), *map(str, extra)],
                          capture_output=True, text=True, timeout=600)

def _losses(out):
    hist = json.loads((out/"log_history.json").read_text())
    return {h["step"]: h["loss"] for h in hist if "loss" in h}

def _adapter_tensors(out):
    from safetensors.torch import load_file
    return load_file(out/"adapter"/"adapter_model.safetensors")

def test_resume_after_sigkill_matches_uninterrupted_run(tmp_path, toy_dir):
    "Run B is SIGKILLed right after checkpoint 3, then resumed; steps 4..8 and the adapter equal run A's exactly."
    a_cfg, b_cfg = _config(toy_dir, tmp_path/"a"), _config(toy_dir, tmp_path/"b")
    a_cfg.to_yaml(tmp_path/"a.yaml"); b_cfg.to_yaml(tmp_path/"b.yaml")
    a = _run_train(tmp_path/"a.yaml")
    assert a.returncode == 0, a.stderr[-3000:]
    killed = _run_train(tmp_path/"b.yaml", 3)
    assert killed.returncode == -signal.SIGKILL, (killed.returncode, killed.stderr[-2000:])
    assert "killing after checkpoint 3" in killed.stdout
    assert (tmp_path/"b"/"checkpoint-3").is_dir() and not (tmp_path/"b"/"adapter").exists()
    resumed = _run_train(tmp_path/"b.yaml")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"resumed from: {tmp_path/'b'/'checkpoint-3'}" in resumed.stdout, resumed.stdout  # resumed, not restarted
    assert "resumed from: None" in a.stdout
    la, lb = _losses(tmp_path/"a"), _losses(tmp_path/"b")
    assert sorted(la) == sorted(lb) == list(range(1, 9)), (sorted(la), sorted(lb))
    assert {s: la[s] for s in range(4, 9)} == {s: lb[s] for s in range(4, 9)}, (la, lb)
    ta, tb = _adapter_tensors(tmp_path/"a"), _adapter_tensors(tmp_path/"b")
    assert ta.keys() == tb.keys() and all((ta[k] == tb[k]).all() for k in ta)

def test_two_process_ddp_on_cpu(tmp_path, toy_dir):
    "`torchrun --nproc_per_node 2` runs the same `text2sql-ft train` with gloo: both ranks finish, one checkpoint."
    exe = shutil.which("text2sql-ft")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29533", exe, "train",
           "--model_name", str(toy_dir), "--output_name", str(tmp_path/"ddp"), "--train_limit", "16", "--eval_limit", "4",
           "--max_steps", "2", "--save_steps", "2", "--eval_steps", "2", "--logging_steps", "1",
           "--train_batch_size", "2", "--max_length", "4096", "--report_to", "none"]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert res.returncode == 0, res.stderr[-3000:]
    assert res.stdout.count("adapter: ") == 2, res.stdout  # each rank returned
    assert sorted(p.name for p in (tmp_path/"ddp").glob("checkpoint-*")) == ["checkpoint-2"]
    state = json.loads((tmp_path/"ddp"/"checkpoint-2"/"trainer_state.json").read_text())
    assert state["global_step"] == 2
    assert (tmp_path/"ddp"/"adapter"/"adapter_config.json").exists()

def test_token_never_written(tmp_path, toy_dir):
    "With HF_TOKEN set, a train + evaluate run leaves the token in no output file and in no log line."
    token = "hf_" + "DummySecretValue" * 3
    env = {"HF_TOKEN": token}
    tr = run_cli("train", "--model_name", str(toy_dir), "--output_name", str(tmp_path/"run"), "--train_limit", "8",
                 "--eval_limit", "4", "--max_steps", "2", "--save_steps", "1", "--eval_steps", "1", "--train_batch_size", "4",
                 "--max_length", "4096", "--report_to", "tensorboard", env=env)
    assert tr.returncode == 0, tr.stderr[-3000:]
    for noise in ("gemm_4bit_forward from kernels-community", "gradient_checkpointing` is deprecated"):  # not ours: silenced
        assert noise not in tr.stderr + tr.stdout, noise
    ev = run_cli("evaluate", "--model", str(toy_dir), "--adapter", str(tmp_path/"run"/"adapter"), "--limit", "4",
                 "--max_new_tokens", "4", "--out_dir", str(tmp_path/"eval"), env=env)
    assert ev.returncode == 0, ev.stderr[-3000:]
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any("tfevents" in p.name for p in files) and any(p.name == "trainer_state.json" for p in files)
    leaks = [str(p) for p in files if token.encode() in p.read_bytes()]
    assert leaks == [], leaks
    for proc in (tr, ev): assert token not in proc.stdout + proc.stderr

def test_cli_rl_on_top_of_sft(tmp_path, toy_dir):
    "`text2sql-ft rl`: a GRPO step on top of a CLI-trained SFT adapter; `evaluate` merges both; DPO without pairs says why."
    sft = run_cli("train", "--model_name", str(toy_dir), "--output_name", str(tmp_path/"sft"), "--train_limit", "8",
                  "--max_steps", "1", "--eval_loss_examples", "2", "--report_to", "none")
    assert sft.returncode == 0, sft.stderr[-3000:]
    common = ["--model_name", str(toy_dir), "--adapter", str(tmp_path/"sft"/"adapter"), "--train_limit", "4", "--max_steps", "1",
              "--train_batch_size", "2", "--num_generations", "2", "--report_to", "none"]
    rl = run_cli("rl", "--method", "grpo", "--output_name", str(tmp_path/"grpo"), *common)
    assert rl.returncode == 0, rl.stderr[-3000:]
    assert "grpo on top of" in rl.stdout and (tmp_path/"grpo"/"adapter"/"stacked_on.json").exists(), rl.stdout
    ev = run_cli("evaluate", "--adapter", str(tmp_path/"grpo"/"adapter"), "--limit", "2", "--max_new_tokens", "4",
                 "--decoding", "greedy", "--out_dir", str(tmp_path/"eval"), "--quiet")
    assert ev.returncode == 0 and "2 examples" in ev.stdout, ev.stderr[-3000:]
    dpo = run_cli("rl", "--method", "dpo", "--output_name", str(tmp_path/"dpo"), *common)
    assert dpo.returncode == 1 and "no DPO pairs" in dpo.stderr and "Traceback" not in dpo.stderr, dpo.stderr[-3000:]
    bad = run_cli("rl", "--method", "ppo", "--output_name", str(tmp_path/"x"), *common)
    assert bad.returncode == 1 and "method must be one of" in bad.stderr, bad.stderr[-3000:]
