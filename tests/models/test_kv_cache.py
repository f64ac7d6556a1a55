"""KV cache writeback through a slot mapping (models/deepseek_v4/kv_cache.py): -1 writes nothing,
a duplicate slot keeps the later token, on the reference interpreter and on a2a3sim in every
schedule; the case file covers the small / T=1 / all -1 / Flash shapes against the golden."""
from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest

from models.deepseek_v4.kv_cache import kv_cache_write
from pto.sim.a2a3sim import SimOptions, simulation_of

BF16 = ml_dtypes.bfloat16


def _inputs(slots, rows=16, d=8):
    rng = np.random.default_rng(0)
    kv = rng.standard_normal((len(slots), d)).astype(BF16)
    cache = rng.standard_normal((rows, d)).astype(BF16)
    return kv, np.array(slots, np.int32).reshape(-1, 1), cache


@pytest.mark.parametrize("platform", ["ref", "a2a3sim"])
def test_a_duplicate_slot_keeps_the_later_token_and_minus_one_writes_nothing(platform):
    kv, slots, cache = _inputs([5, -1, 5, 2])
    want = cache.copy()
    want[5], want[2] = kv[2], kv[3]   # token 0's row 5 is overwritten by token 2; token 1 is skipped
    got = cache.copy()
    kv_cache_write(kv, slots, got, platform=platform)
    assert got.tobytes() == want.tobytes()


def test_the_same_bits_in_every_schedule():
    kv, slots, cache = _inputs([3, 3, -1, 7, 3])
    compiled = kv_cache_write.compile(kv, slots, cache)
    results = set()
    for seed in [None, *range(10)]:
        got = cache.copy()
        simulation_of(compiled).run([kv, slots, got], SimOptions(seed=seed, sanitize=seed is None))
        results.add(got.tobytes())
    assert len(results) == 1


def test_all_slots_minus_one_leave_the_cache_untouched():
    kv, slots, cache = _inputs([-1, -1, -1])
    got = cache.copy()
    kv_cache_write(kv, slots, got)
    assert got.tobytes() == cache.tobytes()
