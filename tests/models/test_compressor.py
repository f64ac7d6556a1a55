"""The compressors (models/deepseek_v4/compressor.py) beyond their cases: what a step must change
and must not, and the golden's pooled row against a float64 formula."""
import numpy as np
import pytest

from models.deepseek_v4 import compressor_cases as C
from models.deepseek_v4.config import SMALL
from pto.testing import run_case


@pytest.mark.parametrize("ratio", [4, 128])
def test_no_slots_changes_nothing_and_slots_write_rows(ratio):
    case = C.case(ratio, SMALL, "x", seed=20, none=True)
    before = case.make_inputs()
    after, comparisons = run_case(case)
    assert all(c.ok for c in comparisons)
    for name in ("kv_state", "score_state", "cmp_cache"):
        assert after[name].tobytes() == before[name].tobytes()
    case = C.case(ratio, SMALL, "x", seed=20)
    inp = case.make_inputs()
    after, comparisons = run_case(case)
    assert all(c.ok for c in comparisons)
    written = np.flatnonzero(np.abs(after["cmp_cache"].astype(np.float32)).sum(axis=1))
    assert sorted(written) == sorted(inp["cmp_slot"][inp["cmp_slot"] >= 0])


def test_golden_pool_matches_float64_softmax_pooling():
    rng = np.random.default_rng(1)
    kv, sc = rng.standard_normal((128, 64)).astype(np.float32), rng.standard_normal((128, 64)).astype(np.float32)
    p = np.exp(sc.astype(np.float64))
    want = (kv * p).sum(axis=0) / p.sum(axis=0)
    assert np.allclose(C.pool(kv, sc, 0, 128, False, 64)[0], want, rtol=1e-5, atol=1e-6)
    # overlap: the previous rows' first half with the current rows' second half
    kv8, sc8 = rng.standard_normal((8, 128)).astype(np.float32), rng.standard_normal((8, 128)).astype(np.float32)
    k = np.concatenate([kv8[:4, :64], kv8[4:, 64:]])
    s = np.exp(np.concatenate([sc8[:4, :64], sc8[4:, 64:]]).astype(np.float64))
    assert np.allclose(C.pool(kv8, sc8, 0, 4, True, 64)[0], (k * s).sum(0) / s.sum(0), rtol=1e-5, atol=1e-6)
