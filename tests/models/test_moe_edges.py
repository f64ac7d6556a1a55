"""Edge cases of the MoE path (issue 7 acceptance list), each its own test at small shapes.

Every test builds cases with explicit routes and runs them on the reference interpreter and on
a2a3sim against the numpy goldens (moe_golden.py, bitwise: atol = rtol = 0), then asserts the
structural property the edge case is about. Routes reach the whole layer through hash routing
(layer 0): tid2eid rows 0..T-1 hold the wanted routes and token t has id t.
"""
from __future__ import annotations

import shutil

import numpy as np
import pytest

from models.deepseek_v4 import dispatch as dispatch_mod
from models.deepseek_v4 import moe as moe_mod
from models.deepseek_v4 import moe_align as align_mod
from models.deepseek_v4 import moe_golden as G
from models.deepseek_v4.config import SMALL
from models.deepseek_v4.moe_common import sizes
from pto.testing import run_case

PLATFORMS = ["ref"] + (["a2a3sim"] if shutil.which("g++") else [])


def run_ok(case):
    """Run a case on every platform; every output must match its golden. Returns the outputs of
    the last run and the golden."""
    for platform in PLATFORMS:
        outputs, comparisons = run_case(case, platform=platform)
        for c in comparisons:
            assert c.ok, f"{case.name} on {platform}: {c}"
    return outputs


def hash_table(cfg, routes):
    """A tid2eid table whose first T rows are `routes` (the rest distinct random rows)."""
    s = sizes(cfg)
    rng = np.random.default_rng(0)
    table = np.array([rng.permutation(s.E)[:s.K] for _ in range(cfg.vocab)], np.int32)
    table[:s.T] = routes
    return table


def run_routes(name, cfg, routes):
    """moe_align, dispatch and the whole layer on the given [T, K] routes; returns the outputs
    of (align, dispatch, layer)."""
    routes = np.asarray(routes, np.int32).reshape(cfg.tokens, cfg.topk)
    align = run_ok(align_mod.case(f"{name}_align", cfg, routes))
    disp = run_ok(dispatch_mod.case(f"{name}_dispatch", cfg, routes))
    layer = run_ok(moe_mod.case(f"{name}_moe", cfg, layer_id=0, tid2eid=hash_table(cfg, routes),
                                input_ids=np.arange(cfg.tokens).reshape(-1, 1)))
    return align, disp, layer


def test_expert_count_not_divisible_by_expert_block():
    cfg = SMALL.with_(experts=5, align_expert_block=4)
    routes = np.array([[4, 0], [1, 4], [4, 2], [0, 3]] * 4)
    align, disp, _ = run_routes("five_experts", cfg, routes)
    assert align["expert_visits"].tolist() == [[1] * 5], "an expert was processed twice (or never)"
    assert align["expert_counts"].tolist() == [[8, 4, 4, 4, 12]]
    assert disp["recv_count"].tolist() == [[8, 4, 4, 4, 12]]


@pytest.mark.parametrize("tokens, topk", [(2, 8), (2, 2)], ids=["routes_above_experts", "routes_below_experts"])
def test_routes_versus_local_experts(tokens, topk):
    cfg = SMALL.with_(tokens=tokens, topk=topk)
    rng = np.random.default_rng(tokens * 10 + topk)
    routes = np.array([rng.permutation(8)[:topk] for _ in range(tokens)])
    align, disp, _ = run_routes(f"t{tokens}_k{topk}", cfg, routes)
    assert disp["recv_count"].sum() == tokens * topk
    assert align["tokens_post_pad"][0, 0] == 16 * np.count_nonzero(disp["recv_count"])


def test_empty_experts_first_middle_last():
    cfg = SMALL.with_(tokens=4)
    routes = [[1, 2], [4, 1], [5, 6], [2, 4]]
    align, disp, _ = run_routes("empty_experts", cfg, routes)
    assert disp["recv_count"].tolist() == [[0, 2, 2, 0, 2, 1, 1, 0]]
    assert align["expert_offsets"].tolist() == [[0, 0, 16, 32, 32, 48, 64, 80, 80]]
    assert align["block_expert"][:5, 0].tolist() == [1, 2, 4, 5, 6] and (align["block_expert"][5:] == -1).all()


def test_every_route_on_one_expert():
    cfg = SMALL.with_(topk=1)
    _, disp, _ = run_routes("one_expert", cfg, np.full((16, 1), 5))
    assert disp["recv_count"].tolist() == [[0, 0, 0, 0, 0, 16, 0, 0]]
    assert disp["route_row"][:, 0].tolist() == [5 * 16 + t for t in range(16)]


def test_every_local_route_on_one_expert_of_two_chips():
    cfg = SMALL.with_(experts=16, ep_size=2, ep_rank=0)
    routes = np.array([[5, 8 + t % 8] for t in range(16)])
    _, disp, _ = run_routes("one_local_expert", cfg, routes)
    assert disp["recv_count"].tolist() == [[0, 0, 0, 0, 0, 16, 0, 0]]
    assert (disp["route_row"][:, 1] == -1).all()


def test_routes_entirely_off_this_chip():
    cfg = SMALL.with_(experts=16, ep_size=2, ep_rank=1)
    rng = np.random.default_rng(3)
    routes = np.array([rng.permutation(8)[:2] for _ in range(16)])  # all on chip 0's experts
    align, disp, layer = run_routes("off_chip", cfg, routes)
    assert disp["recv_count"].tolist() == [[0] * 8] and (disp["route_row"] == -1).all()
    assert align["tokens_post_pad"][0, 0] == 0 and (align["block_expert"] == -1).all()
    # nothing routed here: the layer's output is the shared expert's alone
    inp = moe_mod.case("x", cfg, layer_id=0, tid2eid=hash_table(cfg, routes),
                       input_ids=np.arange(16).reshape(-1, 1)).make_inputs()
    g = G.gate(inp, cfg, 0)
    shared = tuple(inp[k] for k in ("sw1", "sw1_scale", "sw3", "sw3_scale", "sw2", "sw2_scale"))
    sh = G.ffn_rows(g["x_i8"], g["x_scale"], shared, 0, None, cfg)
    assert layer["ffn_out"].tobytes() == sh.tobytes()


def test_single_token():
    cfg = SMALL.with_(tokens=1)
    run_routes("t1", cfg, [[6, 3]])
    run_ok(moe_mod.case("t1_score_routing", cfg, layer_id=3))


def test_scale_rows_follow_expert_offsets():
    """seeds/001: expert 0 with 4 tokens, expert 1 with none, expert 2 with 4: the scale rows must
    sit at the same per-expert rows as the activation rows."""
    cfg = SMALL.with_(tokens=8, topk=1)
    routes = np.array([[0]] * 4 + [[2]] * 4)
    _, disp, _ = run_routes("scale_offsets", cfg, routes)
    inp = dispatch_mod.case("x", cfg, routes).make_inputs()
    rm = sizes(cfg).RM
    assert disp["recv_count"].tolist() == [[4, 0, 4, 0, 0, 0, 0, 0]]
    for rows, tokens in ((range(0, 4), range(0, 4)), (range(2 * rm, 2 * rm + 4), range(4, 8))):
        assert disp["recv_scale"][list(rows), 0].tolist() == inp["x_scale"][list(tokens), 0].tolist()
        assert (disp["recv_x"][list(rows)] == inp["x_i8"][list(tokens)]).all()
    assert (disp["recv_scale"][rm:2 * rm] == 0).all()
