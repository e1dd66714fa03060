"""The Colab / CUDA path (issue: "Where the users are"), one test per broken thing, each run on the CPU.

Rows 1-9 of the issue. What a CPU cannot show (CUDA's unscale kernel, fp16 AMP, memory on a 15 GB card) is in
tools/gpu_check.py; what a Colab "Run all" meets as a whole is `make test-colab` (tools/colab_run.py).
"""
import configparser, json, os, re, subprocess, sys, time, types
from pathlib import Path
from unittest import mock

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT/"tools"))

from text2sql_ft.config import FinetuneConfig
from text2sql_ft.quantization import Precision, estimate_training_memory, load_model
from text2sql_ft.toy import save_toy, toy_tokenizer

T4 = Precision("fp16", torch.float16, True, "a T4: fp16 compute, trainable weights in fp32")

@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    tok = toy_tokenizer()
    return save_toy(tmp_path_factory.mktemp("toy")/"m", tok, hidden_size=64), tok

def test_row1_qlora_fp16_leaves_no_bf16_trainable(toy, tmp_path):
    "A 4-bit toy model wrapped as `train` wraps it, with fp16=True (a T4): every trainable weight is float32."
    from text2sql_ft.sft import CompletionSFTTrainer, adapt_model, prepare_data, sft_args, training_collator
    d, tok = toy
    cfg = FinetuneConfig(model_name=str(d), output_name=str(tmp_path/"run"), quant="nf4", train_limit=8, eval_limit=4,
                         max_steps=1, report_to="none")
    data = prepare_data(cfg, tok)
    model, peft_config = adapt_model(load_model(str(d), "nf4", T4, device_map="cpu"), cfg, T4)
    args = sft_args(cfg, T4, progress=False)
    assert args.fp16 and not args.bf16
    trainer = CompletionSFTTrainer(model=model, args=args, train_dataset=data.train, eval_dataset=data.eval,
                                   processing_class=tok, peft_config=peft_config, data_collator=training_collator(tok, model))
    dtypes = {p.dtype for p in trainer.model.parameters() if p.requires_grad}
    assert dtypes == {torch.float32}, dtypes

def test_row2_weights_load_in_the_compute_dtype_both_sides_alike(toy, tmp_path):
    "On an fp16-only card weights load in fp16 (the bytes the preflight counts), and base and merged model share a dtype."
    from peft import get_peft_model
    from text2sql_ft.lora import lora_config, merged_for_inference
    from transformers import AutoConfig
    d, _ = toy
    base = load_model(str(d), "none", T4)
    assert base.dtype == torch.float16
    est = estimate_training_memory(AutoConfig.from_pretrained(d), "none", T4.name, 1, 16)
    assert abs(base.get_memory_footprint() / est.weights - 1) < 0.05, (base.get_memory_footprint(), est.weights)
    get_peft_model(load_model(str(d), "none", Precision("fp32", torch.float32, True, "")), lora_config(4)).save_pretrained(tmp_path/"ad")
    with mock.patch("text2sql_ft.quantization.pick_precision", return_value=T4), \
         mock.patch("text2sql_ft.lora.pick_precision", return_value=T4):
        scored_base, scored_tuned = load_model(str(d), "none"), merged_for_inference(str(d), tmp_path/"ad")
    assert scored_base.dtype == scored_tuned.dtype == torch.float16

def test_row3_device_map_under_a_distributed_launch():
    "torchrun: each rank loads a whole copy onto its own GPU, never `auto` across all of them."
    from text2sql_ft.quantization import default_device_map
    with mock.patch("torch.cuda.is_available", return_value=True):
        with mock.patch.dict(os.environ, {"WORLD_SIZE": "2", "LOCAL_RANK": "1"}): assert default_device_map() == {"": 1}
        with mock.patch.dict(os.environ, {"WORLD_SIZE": "1"}): assert default_device_map() == "auto"
    with mock.patch("torch.cuda.is_available", return_value=False): assert default_device_map() == "cpu"

def test_row4_colab_secret_reaches_a_subprocess():
    "After the set-up cell, `!text2sql-ft ...` (a child process) gets the Colab secret HF_TOKEN; it is never printed."
    import colab
    with mock.patch.dict(os.environ): _secret_check(colab)

def _secret_check(colab):
    os.environ.pop("HF_TOKEN", None)
    userdata = types.SimpleNamespace(get=lambda key: "dummy-secret-value" if key == "HF_TOKEN" else None)
    google = types.ModuleType("google"); gcolab = types.ModuleType("google.colab")
    gcolab.userdata, google.colab = userdata, gcolab
    printed = []
    with mock.patch.dict(sys.modules, {"google": google, "google.colab": gcolab}), \
         mock.patch("subprocess.run", side_effect=AssertionError("nothing to install here")), \
         mock.patch("builtins.print", side_effect=lambda *a, **k: printed.append(a)):
        exec(colab.setup_code(), {})
    child = subprocess.run([sys.executable, "-c", "from huggingface_hub import get_token; print(get_token() == 'dummy-secret-value')"],
                           capture_output=True, text=True)
    assert child.stdout.strip() == "True", child.stderr[-500:]
    assert not any("dummy-secret-value" in str(a) for a in printed)

def test_row5_hub_dataset_columns_mapped(tmp_path):
    "A Hub dataset (saved to disk, and through a patched `load_dataset`) loads with its columns mapped."
    import datasets
    from text2sql_ft.data import load_examples
    ddl = "CREATE TABLE head (age INTEGER, name TEXT)"
    rows = [dict(question=f"q{i}?", SQL="SELECT name FROM head", context=ddl) for i in range(3)]
    datasets.DatasetDict(train=datasets.Dataset.from_list(rows)).save_to_disk(tmp_path/"ds")
    assert [e.query for e in load_examples(f"hf:{tmp_path/'ds'}", "all")] == ["SELECT name FROM head"] * 3
    spider = datasets.Dataset.from_list([dict(db_id=f"db{i}", question="q?", query="SELECT 1", schema=ddl) for i in range(5)])
    with mock.patch("datasets.load_dataset", return_value=datasets.DatasetDict(validation=spider)), \
         mock.patch("text2sql_ft.data._hub_reachable", return_value=True):
        ex = load_examples("NESPED-GEN/spider_selector_schemaReduzido", "all")
    assert sorted(e.db_id for e in ex) == [f"db{i}" for i in range(5)]

def test_row5_offline_hub_id_fails_at_once_in_one_line(tmp_path):
    "The acceptance command: non-zero in under 30 s, one line naming the dataset and the offline choices, no traceback."
    t = time.time()
    res = subprocess.run(["text2sql-ft", "train", "--dataset_id", "NESPED-GEN/spider_selector_schemaReduzido",
                          "--output_name", str(tmp_path/"x")], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "HF_HUB_OFFLINE": "1"})
    took = time.time() - t
    assert res.returncode != 0 and took < 30, (res.returncode, took)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in res.stderr, res.stderr[-2000:]
    assert "NESPED-GEN/spider_selector_schemaReduzido" in lines[0] and "spider-dev-offline" in lines[0]
    assert not (tmp_path/"x").exists()   # nothing written

def test_row6_tab_titles_on_ipywidgets_7():
    "ipywidgets 7 (Colab's) drops `Tab(titles=...)`: the panel's tabs still carry their titles."
    import ipywidgets as W
    from text2sql_ft.panel import GROUPS, ConfigPanel
    class Tab7(W.Tab):   # ipywidgets 7.7.1: `titles` is no trait there, so the keyword is ignored
        def __init__(self, *args, titles=None, **kw): super().__init__(*args, **kw)
    with mock.patch.object(W, "Tab", Tab7):
        tabs = ConfigPanel().widget.children[0]
    assert [tabs.get_title(i) for i in range(len(GROUPS))] == list(GROUPS)

def test_row7_run_all_needs_no_dev_tool_and_no_earlier_outputs():
    "Every lesson: the set-up cell brings fastcore, the nbdev export cell is guarded, and `../outputs` reads are guarded."
    import colab
    assert '"fastcore": "fastcore' in colab.setup_code()
    for nb in sorted((ROOT/"nbs").glob("*.ipynb")):
        for c in json.loads(nb.read_text())["cells"]:
            src = "".join(c["source"])
            if c["cell_type"] != "code": continue
            if "nbdev_export()" in src: assert 'find_spec("nbdev")' in src, nb.name
            if re.search(r'Path\("\.\./outputs/[^"]*"\)', src) and "read_text" in src: assert ".exists()" in src, (nb.name, src[:200])

def test_row7_rationale_trainers_follow_the_model_device():
    "`trainer_vs_sft_loss` no longer forces the CPU (`use_cpu=True`) when a GPU holds the model."
    import inspect
    from text2sql_ft import rationale
    src = inspect.getsource(rationale.trainer_vs_sft_loss)
    assert "use_cpu=True" not in src and "use_cpu=not torch.cuda.is_available()" in src

def test_row8_gemma_shape_built_in_the_training_dtype_and_t4_peak(tmp_path):
    "The Gemma-2B shape is built in the dtype it trains in (fp16 on a T4), and MFU has a T4 peak to divide by."
    from safetensors import safe_open
    from text2sql_ft.bench import GEMMA_SMALL, gemma_shaped, gpu_peak_tflops
    gemma_shaped(tmp_path/"g", GEMMA_SMALL, dtype=torch.float16)
    with safe_open(str(tmp_path/"g"/"model.safetensors"), "pt") as f:
        assert {f.get_slice(k).get_dtype() for k in f.keys()} == {"F16"}
    assert gpu_peak_tflops("Tesla T4", "fp16") == 65.0 and gpu_peak_tflops("NVIDIA A100-SXM4-80GB", "bf16") == 312.0

def test_row9_malloc_tweak_only_for_a_cpu_model():
    "glibc's mmap threshold is a CPU tweak: a model on a GPU leaves the process's malloc alone."
    from text2sql_ft import generation
    for device, want in [("cuda", 0), ("cpu", 1)]:
        stub = types.SimpleNamespace(device=torch.device(device))
        with mock.patch.object(generation, "_steady_malloc") as tweak:
            generation._decode(stub, [], [], eos=set(), pad_id=0, max_new_tokens=4, stop=None, piece=str)
        assert tweak.call_count == want, (device, tweak.call_count)

def test_row9_adapter_from_a_hub_base_keeps_its_base(tmp_path):
    "An adapter trained on a Hub id is applied to that model, not to the offline default."
    from text2sql_ft.main_job import adapter_base
    (tmp_path/"adapter_config.json").write_text(json.dumps({"base_model_name_or_path": "Qwen/Qwen2.5-Coder-1.5B-Instruct"}))
    assert adapter_base(str(tmp_path)) == "Qwen/Qwen2.5-Coder-1.5B-Instruct"
    (tmp_path/"adapter_config.json").write_text(json.dumps({"base_model_name_or_path": "/gone/from/this/machine"}))
    assert adapter_base(str(tmp_path)) is None

def test_row9_minimum_versions_are_the_ones_tested():
    "settings.ini's lower bounds are exactly the versions `make test-colab` installs (the oldest ever run)."
    cfg = configparser.ConfigParser(); cfg.read(ROOT/"settings.ini")
    mins = dict(re.findall(r"([A-Za-z0-9_.-]+)>=([0-9.]+)", cfg["DEFAULT"]["requirements"]))
    pins = dict(re.findall(r"^([A-Za-z0-9_.-]+)==([0-9.]+)\s*$", (ROOT/"tools"/"colab-requirements.txt").read_text(), re.M))
    libs = ["transformers", "trl", "peft", "accelerate", "datasets", "bitsandbytes"]
    from packaging.version import Version
    for lib in libs:
        assert lib in mins and lib in pins, lib
        assert Version(mins[lib]) == Version(pins[lib]), f"{lib}: settings.ini allows >={mins[lib]}, make test-colab runs {pins[lib]}"
