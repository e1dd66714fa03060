"""The fast decoder's equivalence check must be able to fail: a toy model whose greedy replies differ between prompts,
the fast path token for token against `model.generate`, and three planted decoder bugs the check has to catch."""
import pytest

from text2sql_ft import generation
from text2sql_ft.data import load_spider_dev_offline
from text2sql_ft.generation import fast_path_mismatches, generate_replies
from text2sql_ft.toy import toy_model, toy_tokenizer


@pytest.fixture(scope="module")
def setup():
    spider = load_spider_dev_offline()
    tok = toy_tokenizer()
    model = toy_model(tok, init_std=0.5)
    few = [e for e in spider if e.db_id == "concert_singer"][:4] + [e for e in spider if e.db_id == "pets_1"][:3]
    few[5] = few[5].__class__(few[5].db_id, few[5].question, few[5].query, spider[-1].schema)   # a schema no other row has
    ref = [generate_replies(model, tok, [e], 1, 12, "compact", progress=False, engine="generate")[0] for e in few]
    return model, tok, few, ref


def test_toy_replies_differ_between_prompts(setup):
    model, tok, few, ref = setup
    assert len(set(ref)) > 1, f"every prompt got the same reply {ref[0]!r}: the equivalence check could not fail"


def test_fast_path_equals_generate_token_for_token(setup):
    model, tok, few, ref = setup
    assert fast_path_mismatches(model, tok, few, batch_sizes=(1, 3, 128), reference=ref) == {}


def test_check_refuses_a_model_whose_replies_are_all_alike(setup):
    _, tok, few, _ = setup
    with pytest.raises(ValueError, match="all the same"):
        fast_path_mismatches(toy_model(tok), tok, few)   # transformers' default init: one reply for every prompt


_zero = lambda f: lambda m: f(m) * 0
BUGS = {"position ids all 0": {"_positions": _zero, "_step_positions": _zero},
        "prefix KV cache x 0": {"_prefix_kv": lambda f: lambda *a: [(k * 0, v * 0) for k, v in f(*a)]},
        "replies in reverse order": {"_generate_fast": lambda f: lambda *a, **kw: f(*a, **kw)[::-1]}}


@pytest.mark.parametrize("bug", list(BUGS))
def test_check_catches_a_planted_bug(setup, monkeypatch, bug):
    model, tok, few, ref = setup
    for name, wrong in BUGS[bug].items(): monkeypatch.setattr(generation, name, wrong(getattr(generation, name)))
    assert fast_path_mismatches(model, tok, few, reference=ref), f"the check let '{bug}' through"
