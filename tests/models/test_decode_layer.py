"""The decode layer (models/deepseek_v4/decode_layer.py): its stages meet through caches written
and read in the same program, and nothing the author wrote orders them: the compiler's dependency
analysis of the data-dependent writes must. Poisoning the rows this step writes shows the reads of
those rows come after the writes; poisoning a row it only reads shows the poison is seen at all."""
from __future__ import annotations

import numpy as np
import pytest

from pto.passes.pipeline import compile_function
from pto.sim.a2a3sim import Simulation, SimOptions

from models.deepseek_v4.decode_layer_cases import CASES

BY_NAME = {c.name: c for c in CASES}


def run(case, poison=None, seed=None):
    """The case's inputs after one a2a3sim run (ready tasks in the random order of `seed`)."""
    inp = case.make_inputs()
    if poison:
        poison(inp)
    compiled = case.kernel.compile(**inp, **case.consts)
    Simulation(compile_function(compiled.function)).run(compiled.runtime_args((), {**inp, **case.consts}),
                                                          SimOptions(seed=seed, sanitize=seed is None))
    return inp


def written_rows(inp, name):
    rows = inp[name][:, 0]
    return rows[rows >= 0]


def poison_written(inp):
    """NaN in every cache row this step writes before attention or the indexer reads it."""
    inp["kv_cache"][written_rows(inp, "ori_slot")] = np.nan
    cmp_rows = written_rows(inp, "cmp_slot")
    assert len(cmp_rows), "the step closes no compressed group: the case tests nothing here"
    inp["cmp_kv"][cmp_rows] = np.nan
    inp["idx_k_scale"][0, cmp_rows] = np.nan


@pytest.mark.parametrize("name", ["decode_csa_auto_small", "decode_csa_manual_small"])
def test_rows_written_this_step_are_read_only_after_the_write(name):
    case = BY_NAME[name]
    clean = run(case)
    assert np.isfinite(clean["x_next"]).all()
    for seed in (None, 0, 1, 2):
        assert run(case, poison_written, seed)["x_next"].tobytes() == clean["x_next"].tobytes()


def test_a_poisoned_row_that_is_only_read_reaches_the_output():
    case = BY_NAME["decode_csa_auto_small"]

    def poison_window(inp):
        window = inp["win_idx"][0]
        old = np.setdiff1d(window[window >= 0], written_rows(inp, "ori_slot"))
        inp["kv_cache"][old[0]] = np.nan

    assert np.isnan(run(case, poison_window)["x_next"]).any()


def test_manual_and_automatic_scopes_compute_the_same_bits():
    for layer_type in ("swa", "hca", "csa"):
        auto, manual = (run(BY_NAME[f"decode_{layer_type}_{s}_small"]) for s in ("auto", "manual"))
        assert auto["x_next"].tobytes() == manual["x_next"].tobytes()


@pytest.mark.parametrize("layer_type", ["swa", "hca", "csa"])
def test_automatic_scopes_use_less_memory_and_no_longer_schedule(layer_type):
    """The automatic plan is smaller than the manual one, and its reuses add no ordering that
    lengthens the predicted schedule (a reuse across independent stages would serialize them)."""
    from pto.sim.timing import predict
    from pto.sim.trace import simulate_case

    plans, paths = {}, {}
    for scopes in ("auto", "manual"):
        case = BY_NAME[f"decode_{layer_type}_{scopes}_small"]
        compiled = case.kernel.compile(**case.make_inputs(), **case.consts)
        plans[scopes] = compile_function(compiled.function).facts["memplan"].workspace
        paths[scopes] = predict(simulate_case(case)[0]).critical_path
    assert plans["auto"] < plans["manual"]
    assert paths["auto"] <= paths["manual"] * (1 + 1e-9)


def test_a_caller_mistake_is_named_without_our_internals():
    """An unknown layer type, a cache the layer type updates, a weight: each a PlValueError
    saying what to pass, with the traceback cut to user frames."""
    from pto.errors import PlValueError

    case = BY_NAME["decode_swa_auto_small"]
    inp = case.make_inputs()
    for layer_type, missing in (("mla", "'swa', 'hca', 'csa'"), ("hca", "cmp_kv, kv_state, score_state")):
        with pytest.raises(PlValueError, match=missing) as e:
            case.kernel.compile(**inp, **{**case.consts, "layer_type": layer_type})
        files = [tb.tb_frame.f_code.co_filename for tb in _frames(e.tb)][2:]  # past this test and compile's re-raise
        assert files and not any("/pto/" in f for f in files), files
    del inp["wq_a"]
    with pytest.raises(PlValueError, match="'wq_a', which was not passed"):
        case.kernel.compile(**inp, **case.consts)


def _frames(tb):
    while tb is not None:
        yield tb
        tb = tb.tb_next
