"""The dispatch variants of seeds/000, as the seed writes them where it shows code.

Slot layouts. Approaches A and B use the seed's fixed layout: token t's k-th choice owns slot
k*T + t of every expert (RM = T*TOPK slots each), so recv_x is a broadcast and only the route
tables say which slots are real. The ideal dispatch packs each expert's tokens into its first
slots in (t, k) order (the seed's "Background" loop). Option 2 keeps one row per (t, k) pair.
"""
from __future__ import annotations

import pto.language as pl


@pl.jit.inline
def create_dispatch_buffers(s):
    """recv_x [E*RM, D] BF16 and the two route tables [E, RM] FP32, the tables zeroed (Approach A
    writes only the routed slots)."""
    recv_x = pl.create_tensor([s.E * s.RM, s.D], dtype=pl.BF16)
    recv_weights = pl.create_tensor([s.E, s.RM], dtype=pl.FP32)
    route_mask = pl.create_tensor([s.E, s.RM], dtype=pl.FP32)
    with pl.at(name_hint="zero_route_tables"):
        recv_weights[:, :] = pl.full([s.E, s.RM], dtype=pl.FP32, value=0.0)
        route_mask[:, :] = pl.full([s.E, s.RM], dtype=pl.FP32, value=0.0)
    return recv_x, recv_weights, route_mask


@pl.jit.inline
def create_recv_x(s):
    return pl.create_tensor([s.E * s.RM, s.D], dtype=pl.BF16)


@pl.jit.inline
def broadcast_recv_x(x_norm, recv_x_flat, s):
    """recv_x[e*RM + k*T + t] = x_norm[t] for every expert and k: fixed offsets only."""
    for e in pl.parallel(s.E):
        for k in pl.static_range(s.TOPK):
            for d0 in pl.static_range(0, s.D, s.C):
                x_tile = pl.read(x_norm, [0, d0], [s.T, s.C])
                recv_x_flat = pl.assemble(recv_x_flat, x_tile, [e * s.RM + k * s.T, d0])
    return recv_x_flat


@pl.jit.inline
def broadcast_static_mask_dispatch(x_norm, indices, weights, recv_x_flat, recv_weights, route_mask,
                                   expert_table, s):
    """Approach B: broadcast recv_x; recv_weights / route_mask from the arithmetic mask
    1 - min(|idx - expert_id|, 1) with fixed-offset pl.assemble. `indices` is the padded FP32 table
    or the compact INT32 one (then cast)."""
    recv_x_flat = broadcast_recv_x(x_norm, recv_x_flat, s)
    for e in pl.parallel(s.E):
        for k in pl.static_range(s.TOPK):
            idx = pl.read(indices, [0, k], [s.T, 1])
            if idx.dtype != pl.FP32:
                idx = pl.cast(idx, pl.FP32)
            w = pl.read(weights, [0, k], [s.T, 1])
            expert_id = pl.read(expert_table, [e, k * s.T], [1, s.T])
            expert_id = pl.reshape(expert_id, [s.T, 1])

            # mask = 1 - min(abs(idx - expert_id), 1)
            diff = pl.abs(pl.sub(idx, expert_id))
            clipped = pl.minimum(diff, pl.full((s.T, 1), value=1.0, dtype=pl.FP32))
            mask = pl.sub(pl.full((s.T, 1), value=1.0, dtype=pl.FP32), clipped)
            masked_weight = pl.mul(w, mask)

            recv_weights = pl.assemble(recv_weights, pl.reshape(masked_weight, [1, s.T]), [e, k * s.T])
            route_mask = pl.assemble(route_mask, pl.reshape(mask, [1, s.T]), [e, k * s.T])
    return recv_x_flat, recv_weights, route_mask


@pl.jit.inline
def dispatch_return_route(x_norm, indices_pad, weights_pad, recv_x, recv_weights, route_mask, expert_table, s):
    """C5: the same dispatch, its route buffers explicitly returned by one more helper level."""
    recv_x, recv_weights, route_mask = broadcast_static_mask_dispatch(
        x_norm, indices_pad, weights_pad, recv_x, recv_weights, route_mask, expert_table, s,
    )
    return recv_x, recv_weights, route_mask


@pl.jit.inline
def scalar_write_route_dispatch(x_norm, indices, weights, recv_x, recv_weights, route_mask, s):
    """Approach A: recv_x broadcast; the route tables written with scalar pl.write at the
    data-dependent flat index indices[t, k] * RM + k*T + t (in the orchestration)."""
    recv_x_flat = pl.reshape(recv_x, [s.E * s.RM, s.D])
    recv_weights_flat = pl.reshape(recv_weights, [s.E * s.RM])
    route_mask_flat = pl.reshape(route_mask, [s.E * s.RM])

    # Large tensor path: fixed-offset broadcast. (pl.static_range as the seed writes it: through the
    # reshape the compiler sees each write as one to all of recv_x, so pl.parallel is rejected.)
    for e in pl.static_range(s.E):
        for k in pl.static_range(s.TOPK):
            for d0 in pl.static_range(0, s.D, s.C):
                x_tile = pl.read(x_norm, [0, d0], [s.T, s.C])
                recv_x_flat = pl.assemble(recv_x_flat, x_tile, [e * s.RM + k * s.T, d0])

    # Small route-table path: scalar writes with a data-dependent flat index.
    for t in pl.static_range(s.T):
        for k in pl.static_range(s.TOPK):
            expert_id = pl.read(indices, [t, k])
            weight = pl.read(weights, [t, k])
            dst = expert_id * s.RM + k * s.T + t
            pl.write(recv_weights_flat, [dst], weight)
            pl.write(route_mask_flat, [dst], pl.const(1.0, pl.FP32))

    recv_weights = pl.reshape(recv_weights_flat, [s.E, s.RM])
    route_mask = pl.reshape(route_mask_flat, [s.E, s.RM])
    recv_x = pl.reshape(recv_x_flat, [s.E * s.RM, s.D])
    return recv_x, recv_weights, route_mask


@pl.jit.inline
def zero_compact_buffers(recv_x, recv_weights, route_mask, slot, s):
    with pl.at(name_hint="zero_dispatch"):
        for e in pl.range(s.E):
            for c in pl.range(s.D // s.C):
                recv_x[e * s.RM:e * s.RM + s.RM, c * s.C:c * s.C + s.C] = pl.full([s.RM, s.C], dtype=pl.BF16,
                                                                                  value=0.0)
        recv_weights[:, :] = pl.full([s.E, s.RM], dtype=pl.FP32, value=0.0)
        route_mask[:, :] = pl.full([s.E, s.RM], dtype=pl.FP32, value=0.0)
        slot[:, :] = pl.full([1, s.E], dtype=pl.INT32, value=0)


@pl.jit.inline
def dispatch_loop(x_norm, indices, weights, recv_x, recv_weights, route_mask, slot, route_dst, s):
    """The ideal dispatch, the seed's "Background" loop verbatim in one kernel: destination rows
    and slots read from the router's output and the running slot counters (data-dependent
    pl.assemble / pl.write offsets). route_dst[t*TOPK + k] records the row for combine."""
    zero_compact_buffers(recv_x, recv_weights, route_mask, slot, s)
    with pl.at(name_hint="dispatch_loop"):
        for t in pl.range(s.T):
            for k in pl.range(s.TOPK):
                e = pl.read(indices, [t, k])
                p = pl.read(slot, [0, e])
                row = e * s.RM + p
                for c in pl.range(s.D // s.C):
                    recv_x[row:row + 1, c * s.C:c * s.C + s.C] = x_norm[t:t + 1, c * s.C:c * s.C + s.C]
                recv_weights[e, p] = pl.read(weights, [t, k])
                route_mask[e, p] = pl.const(1.0, pl.FP32)
                slot[0, e] = p + 1
                route_dst[t * s.TOPK + k, 0] = pl.cast(row, pl.INT32)
    return recv_x, recv_weights, route_mask, slot, route_dst


@pl.jit.inline
def route_slots(indices, route_dst, slot, s):
    """route_dst[t*TOPK + k] = e*RM + (number of earlier (t', k') routed to e = indices[t, k]),
    via a strictly-lower-triangular matmul over one-hot rows (exact small integers in FP32); slot
    counters by a scatter-add of ones."""
    with pl.at(name_hint="route_slots"):
        idx = pl.read(pl.reshape(indices, [s.R, 1]), [0, 0], [s.R, 1])
        ids = pl.col_expand(pl.full([s.R, s.E], dtype=pl.INT32, value=0), pl.arange([1, s.E], dtype=pl.INT32))
        onehot = pl.cast(pl.eq(pl.row_expand(ids, idx), ids), pl.FP32)
        cols = pl.col_expand(pl.full([s.R, s.R], dtype=pl.INT32, value=0), pl.arange([1, s.R], dtype=pl.INT32))
        rows = pl.row_expand(cols, pl.arange([s.R, 1], dtype=pl.INT32))
        earlier = pl.cast(pl.lt(cols, rows), pl.FP32)
        prefix = pl.matmul(earlier, onehot)
        pos = pl.cast(pl.gather(prefix, idx, dim=1), pl.INT32)
        route_dst[:, :] = pl.add(pl.mul(idx, s.RM), pos)
        ones = pl.full([1, s.R], dtype=pl.INT32, value=1)
        slot[:, :] = pl.scatter(pl.full([1, s.E], dtype=pl.INT32, value=0), pl.reshape(idx, [1, s.R]), ones,
                                dim=1, reduce="add")
    return route_dst, slot


@pl.jit.inline
def dispatch_scatter(x_norm, indices, weights, recv_x, recv_weights, route_mask, slot, s):
    """The ideal dispatch with pl.scatter: rows of x_norm, weights and ones scattered to the
    destinations route_slots computed (no loop over tokens)."""
    zero_compact_buffers(recv_x, recv_weights, route_mask, slot, s)
    route_dst = route_slots(indices, pl.create_tensor([s.R, 1], dtype=pl.INT32), slot, s)[0]
    with pl.at(name_hint="dispatch_scatter"):
        dst = pl.read(route_dst, [0, 0], [s.R, 1])
        pl.scatter(pl.reshape(recv_weights, [s.E * s.RM, 1]), dst, pl.reshape(weights, [s.R, 1]))
        pl.scatter(pl.reshape(route_mask, [s.E * s.RM, 1]), dst, pl.full([s.R, 1], dtype=pl.FP32, value=1.0))
        dst_tk = pl.reshape(dst, [s.T, s.TOPK])
        for k in pl.static_range(s.TOPK):
            rows = pl.row_expand(pl.full([s.T, s.C], dtype=pl.INT32, value=0), dst_tk[:, k:k + 1])
            for c in pl.range(s.D // s.C):
                pl.scatter(recv_x[:, c * s.C:c * s.C + s.C], rows, x_norm[:, c * s.C:c * s.C + s.C])
    return recv_x, recv_weights, route_mask, slot, route_dst


@pl.jit.inline
def combine_compact(recv_y, route_dst, sh, ffn_out, s):
    """ffn_out[t] = sh[t] + sum_k recv_y[route_dst[t*TOPK + k]]: a pl.gather of each token's rows."""
    with pl.at(name_hint="combine_compact"):
        dst_tk = pl.read(pl.reshape(route_dst, [s.T, s.TOPK]), [0, 0], [s.T, s.TOPK])
        for c in pl.range(s.D // s.C):
            d0 = c * s.C
            acc = pl.read(sh, [0, d0], [s.T, s.C])
            for k in pl.static_range(s.TOPK):
                rows = pl.row_expand(pl.full([s.T, s.C], dtype=pl.INT32, value=0), dst_tk[:, k:k + 1])
                acc = pl.add(acc, pl.gather(recv_y[:, d0:d0 + s.C], rows, dim=0))
            ffn_out[:, d0:d0 + s.C] = acc
    return ffn_out
