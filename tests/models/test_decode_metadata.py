"""The decode-step tables (models/deepseek_v4/decode_metadata.py) by their defining properties:
attention reads what this step writes, and no write of the step lands on a row another token of
the step still reads."""
import numpy as np
import pytest

from models.deepseek_v4.config import SMALL
from models.deepseek_v4.decode_metadata import Step, tables

CFG = SMALL.with_(kv_history=8 * 2 * SMALL.window, cmp_history=8 * 100)


@pytest.mark.parametrize("start", [0, 40, 300])
def test_each_window_ends_with_the_row_the_token_writes(start):
    step = Step(CFG, start)
    t = tables(step, 0)
    for row, slot in zip(t["win_idx"], t["ori_slot"][:, 0]):
        assert row[-1] == slot
        valid = row[row >= 0]
        assert len(set(valid.tolist())) == len(valid)


def test_no_write_of_a_step_lands_in_a_window_it_does_not_belong_to():
    step = Step(CFG, 128)
    t = tables(step, 0)
    written = {int(s): tok for tok, s in enumerate(t["ori_slot"][:, 0])}
    toks = step.tokens()
    for tok, row in enumerate(t["win_idx"]):
        for r in row[row >= 0]:
            if int(r) in written:  # only a token of the same sequence at a position inside the window
                other = written[int(r)]
                assert toks[other][0] == toks[tok][0] and toks[other][1] <= toks[tok][1]


def test_the_sequence_start_has_no_rows_before_position_zero():
    t = tables(Step(CFG, 0, offsets=(0,), spread=False), 0)
    assert (t["win_idx"][0::2, :-1] == -1).all() and (t["win_idx"][0::2, -1] >= 0).all()
    assert (t["win_idx"][1::2, :-2] == -1).all() and (t["win_idx"][1::2, -2:] >= 0).all()


def test_compressed_rows_closed_this_step_are_attended():
    step = Step(CFG, 128)
    for ratio, idx in ((128, "hca_idx"), (4, None)):
        t = tables(step, ratio)
        closing = t["cmp_slot"][:, 0]
        assert (closing >= 0).any() and (closing == -1).any()  # some tokens close a group, some do not
        if idx:
            for tok, slot in enumerate(closing):
                if slot >= 0:
                    assert slot in t[idx][tok]
    t = tables(step, 4)
    for (b, p), base, n in zip(step.tokens(), t["cmp_base"][:, 0], t["cmp_len"][:, 0]):
        assert base == step.cmp_row(b, 0) and n == (p + 1) // 4


def test_a_history_too_short_for_the_window_is_refused():
    with pytest.raises(ValueError, match="fewer than the window"):
        tables(Step(SMALL, 40), 0)
