"""Small DSL programs shared by several tests (the orchestration emitter's and the simulator's)."""
import pto.language as pl


@pl.jit
def produce_accumulate(x: pl.Tensor[[8, 4], pl.FP32], mid: pl.InOut[pl.Tensor[[8, 4], pl.FP32]],
                       acc: pl.InOut[pl.Tensor[[1, 4], pl.FP32]]):
    """Two tasks per iteration: a RAW edge within it and a loop-carried one (mid[i - 1]). `mid` is
    InOut: row 0 is read (at i = 1) but never written here (the sanitizer flags an Out read so)."""
    for i in pl.range(1, 8):
        with pl.at(name_hint="produce"):
            mid[i : i + 1, :] = pl.exp(x[i : i + 1, :])
        with pl.at(name_hint="accumulate"):
            acc[:, :] = pl.add(acc, pl.add(mid[i - 1 : i, :], mid[i : i + 1, :]))


@pl.jit
def columns_then_all(x: pl.Tensor[[4, 64], pl.FP32], out: pl.Out[pl.Tensor[[4, 64], pl.FP32]]):
    """Disjoint column blocks in a pl.parallel, then one task reading all of them."""
    for j in pl.parallel(4):
        with pl.at(name_hint="cols"):
            out[:, j * 16 : j * 16 + 16] = pl.exp(x[:, j * 16 : j * 16 + 16])
    with pl.at(name_hint="all"):
        out[:, :] = pl.mul(out, 2.0)
