"""The IR text form: hand-written IR parses, verifies and prints back; bad IR is rejected."""
from __future__ import annotations

import numpy as np
import pytest

from pto.ir.parser import IRParseError, parse_function
from pto.ir.printer import print_function
from pto.ir.verifier import IRVerifyError, verify_function
from pto.sim.interpreter import run_function

LOOP = '''\
func @cumsum(%x: fp32[4, 8] in, %out: fp32[4, 8] out) -> () auto_scope=true {
  %0 = pl.full(shape=[1, 8], dtype=fp32, value=0.0) : fp32[1, 8] loc("k.py":3)
  %acc, %out.1 = pl.for(start=0, stop=4, step=1, init=[%0, %out], kind="range") : fp32[1, 8], fp32[4, 8] loc("k.py":4) {
    ^(%i: index, %a: fp32[1, 8], %o: fp32[4, 8]):
    %1 = pl.slice(src=%x, offsets=[%i, 0], sizes=[1, 8]) : fp32[1, 8] loc("k.py":5)
    %2 = pl.add(lhs=%a, rhs=%1) : fp32[1, 8] loc("k.py":5)
    %o.1 = pl.assemble(dst=%o, src=%2, offsets=[%i, 0]) : fp32[4, 8] loc("k.py":6)
    pl.yield(values=[%2, %o.1]) loc("k.py":4)
  }
  pl.return(values=[]) loc("k.py":1)
}
'''


def test_hand_written_ir_round_trips_and_runs():
    f = parse_function(LOOP)
    verify_function(f)
    assert print_function(f) == LOOP
    x = np.arange(32, dtype=np.float32).reshape(4, 8)
    out = np.zeros_like(x)
    run_function(f, [x, out])
    np.testing.assert_array_equal(out, np.cumsum(x, axis=0))


@pytest.mark.parametrize("bad, message", ids=["undefined", "unknown-op", "bad-field", "extra-field", "no-loc"], argvalues=[
    (LOOP.replace("pl.add(lhs=%a", "pl.add(lhs=%zz"), "used before it is defined"),
    (LOOP.replace("pl.add(", "pl.addd("), "unknown op"),
    (LOOP.replace("sizes=[1, 8]", "sizes=1"), "expects ints"),
    (LOOP.replace("lhs=%a,", "lhs=%a, bogus=1,"), "has no field"),
    (LOOP.replace("loc(\"k.py\":5)\n    %2", "\n    %2"), "Unexpected token"),  # loc is required
])
def test_malformed_ir_text_is_rejected(bad, message):
    with pytest.raises(IRParseError, match=message):
        parse_function(bad)


@pytest.mark.parametrize("bad, message", ids=["result-type", "carried", "bounds"], argvalues=[
    (LOOP.replace(": fp32[1, 8] loc(\"k.py\":5)\n    %o.1", ": fp32[1, 9] loc(\"k.py\":5)\n    %o.1"),
     "result types"),
    (LOOP.replace("pl.yield(values=[%2, %o.1])", "pl.yield(values=[%2])"), "carried types"),
    (LOOP.replace("offsets=[%i, 0], sizes=[1, 8]", "offsets=[4, 0], sizes=[1, 8]"), "out of bounds"),
])
def test_verifier_rejects_ill_typed_ir(bad, message):
    with pytest.raises(IRVerifyError, match=message):
        verify_function(parse_function(bad))


def test_values_defined_in_a_region_are_not_visible_after_it():
    bad = LOOP.replace("pl.return(values=[])", "%9 = pl.exp(src=%2) : fp32[1, 8] loc(\"k.py\":9)\n  pl.return(values=[])")
    with pytest.raises(IRVerifyError, match="not defined before"):
        verify_function(parse_function(bad))
