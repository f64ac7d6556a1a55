"""The MoE path beyond its case files: determinism, the router's numerics, config errors, and the
cheap stages of the full-size Flash share on a2a3sim (the routed experts and the whole layer at
Flash size run with `python -m pto.cli run models/deepseek_v4/moe.py -k flash`: ~20 s, 2 GB)."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

from models.deepseek_v4 import dispatch, gate, moe, moe_align
from models.deepseek_v4 import moe_golden as G
from models.deepseek_v4.config import SMALL
from models.deepseek_v4.moe_common import sizes
from pto.testing import run_case

needs_gxx = pytest.mark.skipif(shutil.which("g++") is None, reason="a2a3sim needs g++")


def by_name(module, name):
    return next(c for c in module.CASES if c.name == name)


@needs_gxx
def test_layer_is_bitwise_repeatable_on_a2a3sim():
    case = by_name(moe, "moe_small_ep2_rank1")
    first, comparisons = run_case(case, platform="a2a3sim")
    assert all(c.ok for c in comparisons)
    for _ in range(2):
        again, _ = run_case(case, platform="a2a3sim")
        assert again["ffn_out"].tobytes() == first["ffn_out"].tobytes()


def test_sqrt_softplus_is_accurate_over_the_whole_range():
    # from -87 on: below, exp(l) is an FP32 subnormal and loses digits whatever the formula
    x = np.linspace(-87.0, 40.0, 12701, dtype=np.float32)
    exact = np.sqrt(np.logaddexp(0.0, x.astype(np.float64)))
    got = G.sqrt_softplus(x.reshape(1, -1))[0].astype(np.float64)
    # sqrt halves the relative error of softplus: below the tail threshold exp(l) is off by a
    # relative exp(l) / 2 <= 1.7e-4 (-> 8.4e-5 after the sqrt); above it the log(1 + .) path
    # is off by a few FP32 ulps of 1 relative to exp(-|l|) <= 1 (-> < 1e-4).
    assert np.max(np.abs(got - exact) / exact) < 1e-4
    # the plain formula is exactly 0 from about -17 on: the tail is what keeps the scores
    plain = np.maximum(x, 0) + G.f64_op(np.log, G.f64_op(np.exp, -np.abs(x)) + np.float32(1.0))
    assert (plain[x < -17] == 0).all() and (got[x < -17] > 0).all()


def test_negative_logits_case_reaches_the_softplus_tail():
    case = by_name(gate, "gate_small_negative_logits")
    logits = G.gate(case.make_inputs(), case.consts["cfg"], 3)["logits"]
    # below about -17, log(1 + exp(l)) in FP32 is exactly 0: the case must reach there
    assert (logits < -17).sum() >= 10


@pytest.mark.parametrize("change, message", [
    ({"tokens": 20}, "20 tokens"),
    ({"hidden": 200}, "hidden 200"),
    ({"experts": 12, "ep_size": 8}, "12 experts over ep_size 8"),
    ({"ep_rank": 1}, "rank 1"),
])
def test_bad_moe_config_is_named(change, message):
    with pytest.raises(ValueError, match=message):
        sizes(SMALL.with_(**change))


@needs_gxx
@pytest.mark.parametrize("module, name", [(gate, "gate_flash"), (moe_align, "moe_align_flash"),
                                          (dispatch, "dispatch_flash")])
def test_flash_routing_stages_on_a2a3sim(module, name):
    _, comparisons = run_case(by_name(module, name), platform="a2a3sim")
    for c in comparisons:
        assert c.ok, f"{name}: {c}"
