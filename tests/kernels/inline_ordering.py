"""The example of docs/inline_ordering.md: Approach A of seeds/000 in miniature. One inline helper
writes the route table with scalar pl.write at a data-dependent flat index and returns nothing; a
later inline helper reads the table in a kernel. The read sees every write.

    pto dump tests/kernels/inline_ordering.py
"""
import numpy as np

import pto.language as pl
from pto import testing as pt

T, TOPK, E, D = 4, 2, 3, 8
RM = T * TOPK  # slots per expert; token t's k-th choice owns slot k*T + t


@pl.jit.inline
def write_routes(indices, weights, recv_weights):
    flat = pl.reshape(recv_weights, [E * RM])
    for t in pl.range(T):
        for k in pl.range(TOPK):
            dst = pl.read(indices, [t, k]) * RM + k * T + t
            pl.write(flat, [dst], pl.read(weights, [t, k]))


@pl.jit.inline
def scale_by_route(recv_weights, recv_x, recv_y):
    with pl.at(name_hint="expert"):
        recv_y[:, :] = pl.row_expand_mul(recv_x, pl.reshape(recv_weights, [E * RM, 1]))


@pl.jit
def route_then_consume(indices: pl.Tensor[[T, TOPK], pl.INT32], weights: pl.Tensor[[T, TOPK], pl.FP32],
                       recv_x: pl.Tensor[[E * RM, D], pl.FP32], recv_y: pl.Out[pl.Tensor[[E * RM, D], pl.FP32]]):
    recv_weights = pl.create_tensor([E, RM], pl.FP32)
    with pl.at(name_hint="zero"):
        recv_weights[:, :] = pl.full([E, RM], dtype=pl.FP32, value=0.0)
    write_routes(indices, weights, recv_weights)
    scale_by_route(recv_weights, recv_x, recv_y)


def golden(indices, weights, recv_x, recv_y):
    w = np.zeros(E * RM, np.float32)
    for t in range(T):
        for k in range(TOPK):
            w[indices[t, k] * RM + k * T + t] = weights[t, k]
    return {"recv_y": recv_x * w[:, None]}


CASES = [pt.Case("route_then_consume", route_then_consume, {
    "indices": pt.randint((T, TOPK), pl.INT32, 0, E, seed=1),
    "weights": pt.uniform((T, TOPK), pl.FP32, 0.1, 1.0, seed=2),
    "recv_x": pt.normal((E * RM, D), pl.FP32, seed=3),
    "recv_y": pt.zeros((E * RM, D), pl.FP32),
}, golden)]  # exact: one FP32 multiply per element, the same in the golden
