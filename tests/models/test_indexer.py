"""The CSA indexer (models/deepseek_v4/indexer.py) beyond its cases: its golden scores against a
float64 formula, and the kernel's selection checked by its defining properties."""
import numpy as np

from models.deepseek_v4 import indexer as I
from models.deepseek_v4.config import SMALL


def _inputs(case):
    inp = case.make_inputs()
    return inp, {k: inp[k] for k in ("q", "q_scale", "w", "k", "k_scale", "cmp_len")}


def test_golden_scores_match_float64_formula():
    case = I.CASES[0]
    _, args = _inputs(case)
    got = I.golden_scores(**args, cfg=SMALL)
    IH = SMALL.indexer_heads
    for t in range(SMALL.tokens):
        q = args["q"][t * IH:(t + 1) * IH].astype(np.float64) * args["q_scale"][t * IH:(t + 1) * IH]
        dots = np.maximum(q @ args["k"].astype(np.float64).T, 0)
        want = (args["w"][t].astype(np.float64) @ dots) * args["k_scale"][0]
        n = args["cmp_len"][t, 0]
        assert np.allclose(got[t, :n], want[:n], rtol=1e-5, atol=1e-6 * np.abs(want).max())
        assert np.all(got[t, n:] == np.float32(I.NEG_INF))


def test_kernel_selects_the_best_visible_positions():
    for case in I.CASES[:2]:  # steady state, and the start of a sequence (fewer than k visible)
        inp, args = _inputs(case)
        I.indexer(**inp, cfg=SMALL)
        scores = I.golden_scores(**args, cfg=SMALL)
        for t in range(SMALL.tokens):
            n, row = int(args["cmp_len"][t, 0]), inp["topk_idx"][t]
            picked = row[row >= 0]
            assert len(picked) == min(n, SMALL.indexer_topk) and np.all(row[len(picked):] == -1)
            assert len(set(picked.tolist())) == len(picked) and np.all(picked < n)
            rest = np.setdiff1d(np.arange(n), picked)
            if len(rest) and len(picked):
                assert scores[t, picked].min() >= scores[t, rest].max()


def test_a_shared_cache_keeps_each_token_inside_its_own_rows():
    case = next(c for c in I.CASES if c.name == "indexer_paged")
    inp = case.make_inputs()
    I.indexer(**inp, cfg=SMALL)
    for t in range(SMALL.tokens):
        lo, n, row = int(inp["cmp_base"][t, 0]), int(inp["cmp_len"][t, 0]), inp["topk_idx"][t]
        picked = row[row >= 0]
        assert len(picked) == min(n, SMALL.indexer_topk)
        assert np.all((picked >= lo) & (picked < lo + n))
