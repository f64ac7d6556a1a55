// split_mixed: a loop whose matmul runs on AIC and whose accumulation runs on AIV.
func @k(%a: bf16[16, 32] in, %b: bf16[32, 16] in, %out: fp32[16, 16] out) -> () auto_scope=true role="orchestration" {
  %out_0 = pl.call(kernel="mm", args=[%a, %b, %out], blocks=1, outs=[2]) : fp32[16, 16] loc("k.py":10)
  pl.return(values=[]) loc("k.py":8)
}

func @mm(%a: bf16[16, 32] in, %b: bf16[32, 16] in, %out: fp32[16, 16] out) -> (fp32[16, 16]) blocks=1 core="mixed" role="kernel" {
  %0 = pl.full(shape=[16, 16], dtype=fp32, value=0.0) : fp32[16, 16] loc("k.py":11)
  %acc_3 = pl.for(start=0, stop=2, step=1, init=[%0], kind="range") : fp32[16, 16] loc("k.py":12) {
    ^(%i: index, %acc: fp32[16, 16]):
    %1 = pl.matmul(lhs=%a, rhs=%b, a_trans=false, b_trans=false, out_dtype=fp32) : fp32[16, 16] loc("k.py":13)
    %2 = pl.add(lhs=%acc, rhs=%1) : fp32[16, 16] loc("k.py":14)
    pl.yield(values=[%2]) loc("k.py":12)
  }
  %out.1 = pl.assemble(dst=%out, src=%acc_3, offsets=[0, 0]) : fp32[16, 16] loc("k.py":15)
  pl.return(values=[%out.1]) loc("k.py":10)
}
// CHECK:
// func @k(%a: bf16[16, 32] in, %b: bf16[32, 16] in, %out: fp32[16, 16] out) -> () auto_scope=true role="orchestration" {
//   %out_0 = pl.call(kernel="mm", args=[%a, %b, %out], blocks=1, outs=[2]) : fp32[16, 16] loc("k.py":10)
//   pl.return(values=[]) loc("k.py":8)
// }
//
// func @mm(%a: bf16[16, 32] in, %b: bf16[32, 16] in, %out: fp32[16, 16] out) -> (fp32[16, 16]) blocks=1 core="mixed" parts=["mm__aic", "mm__aiv"] role="kernel" {
//   %0 = pl.full(shape=[16, 16], dtype=fp32, value=0.0) : fp32[16, 16] loc("k.py":11)
//   %acc_3 = pl.for(start=0, stop=2, step=1, init=[%0], kind="range") : fp32[16, 16] loc("k.py":12) {
//     ^(%i: index, %acc: fp32[16, 16]):
//     %1 = pl.matmul(lhs=%a, rhs=%b, a_trans=false, b_trans=false, out_dtype=fp32) : fp32[16, 16] loc("k.py":13)
//     %2 = pl.add(lhs=%acc, rhs=%1) : fp32[16, 16] loc("k.py":14)
//     pl.yield(values=[%2]) loc("k.py":12)
//   }
//   %out.1 = pl.assemble(dst=%out, src=%acc_3, offsets=[0, 0]) : fp32[16, 16] loc("k.py":15)
//   pl.return(values=[%out.1]) loc("k.py":10)
// }
//
// func @mm__aic(%a: bf16[16, 32] in, %b: bf16[32, 16] in, %out: fp32[16, 16] out) -> () blocks=1 core="aic" group="mm" role="kernel-part" {
//   pl.for(start=0, stop=2, step=1, init=[], kind="range") loc("k.py":12) {
//     ^(%i: index):
//     %1 = pl.matmul(lhs=%a, rhs=%b, a_trans=false, b_trans=false, out_dtype=fp32) : fp32[16, 16] loc("k.py":13)
//     pl.tpush(value=%1, channel=1) loc("k.py":13)
//     pl.yield(values=[]) loc("k.py":12)
//   }
//   pl.return(values=[]) loc("k.py":10)
// }
//
// func @mm__aiv(%a: bf16[16, 32] in, %b: bf16[32, 16] in, %out: fp32[16, 16] out) -> (fp32[16, 16]) blocks=1 core="aiv" group="mm" role="kernel-part" {
//   %0 = pl.full(shape=[16, 16], dtype=fp32, value=0.0) : fp32[16, 16] loc("k.py":11)
//   %acc_3 = pl.for(start=0, stop=2, step=1, init=[%0], kind="range") : fp32[16, 16] loc("k.py":12) {
//     ^(%i: index, %acc: fp32[16, 16]):
//     %1 = pl.tpop(channel=1, shape=[16, 16], dtype=fp32) : fp32[16, 16] loc("k.py":13)
//     %2 = pl.add(lhs=%acc, rhs=%1) : fp32[16, 16] loc("k.py":14)
//     pl.yield(values=[%2]) loc("k.py":12)
//   }
//   %out.1 = pl.assemble(dst=%out, src=%acc_3, offsets=[0, 0]) : fp32[16, 16] loc("k.py":15)
//   pl.return(values=[%out.1]) loc("k.py":10)
// }
// -----
// split_mixed: a pl.full of 0 that only seeds a K loop's matmul_acc stays on AIC with the loop;
// the final accumulator crosses to AIV once, after the loop.
func @k(%a: int8[16, 64] in, %b: int8[64, 16] in, %out: fp32[16, 16] out) -> () auto_scope=true role="orchestration" {
  %out_0 = pl.call(kernel="mm", args=[%a, %b, %out], blocks=1, outs=[2]) : fp32[16, 16] loc("k.py":10)
  pl.return(values=[]) loc("k.py":8)
}

func @mm(%a: int8[16, 64] in, %b: int8[64, 16] in, %out: fp32[16, 16] out) -> (fp32[16, 16]) blocks=1 core="mixed" role="kernel" {
  %0 = pl.full(shape=[16, 16], dtype=int32, value=0) : int32[16, 16] loc("k.py":11)
  %g_3 = pl.for(start=0, stop=2, step=1, init=[%0], kind="range") : int32[16, 16] loc("k.py":12) {
    ^(%c: index, %g: int32[16, 16]):
    %c32 = pl.const(value=32, dtype=index) : index loc("k.py":13)
    %1 = pl.mul(lhs=%c, rhs=%c32) : index loc("k.py":13)
    %xc = pl.slice(src=%a, offsets=[0, %1], sizes=[16, 32]) : int8[16, 32] loc("k.py":13)
    %wc = pl.slice(src=%b, offsets=[%1, 0], sizes=[32, 16]) : int8[32, 16] loc("k.py":14)
    %3 = pl.matmul_acc(acc=%g, lhs=%xc, rhs=%wc, a_trans=false, b_trans=false) : int32[16, 16] loc("k.py":14)
    pl.yield(values=[%3]) loc("k.py":12)
  }
  %4 = pl.cast(src=%g_3, dtype=fp32, mode="rint") : fp32[16, 16] loc("k.py":15)
  %out.1 = pl.assemble(dst=%out, src=%4, offsets=[0, 0]) : fp32[16, 16] loc("k.py":16)
  pl.return(values=[%out.1]) loc("k.py":10)
}
// CHECK:
// func @k(%a: int8[16, 64] in, %b: int8[64, 16] in, %out: fp32[16, 16] out) -> () auto_scope=true role="orchestration" {
//   %out_0 = pl.call(kernel="mm", args=[%a, %b, %out], blocks=1, outs=[2]) : fp32[16, 16] loc("k.py":10)
//   pl.return(values=[]) loc("k.py":8)
// }
//
// func @mm(%a: int8[16, 64] in, %b: int8[64, 16] in, %out: fp32[16, 16] out) -> (fp32[16, 16]) blocks=1 core="mixed" parts=["mm__aic", "mm__aiv"] role="kernel" {
//   %0 = pl.full(shape=[16, 16], dtype=int32, value=0) : int32[16, 16] loc("k.py":11)
//   %g_3 = pl.for(start=0, stop=2, step=1, init=[%0], kind="range") : int32[16, 16] loc("k.py":12) {
//     ^(%c: index, %g: int32[16, 16]):
//     %c32 = pl.const(value=32, dtype=index) : index loc("k.py":13)
//     %1 = pl.mul(lhs=%c, rhs=%c32) : index loc("k.py":13)
//     %xc = pl.slice(src=%a, offsets=[0, %1], sizes=[16, 32]) : int8[16, 32] loc("k.py":13)
//     %wc = pl.slice(src=%b, offsets=[%1, 0], sizes=[32, 16]) : int8[32, 16] loc("k.py":14)
//     %3 = pl.matmul_acc(acc=%g, lhs=%xc, rhs=%wc, a_trans=false, b_trans=false) : int32[16, 16] loc("k.py":14)
//     pl.yield(values=[%3]) loc("k.py":12)
//   }
//   %4 = pl.cast(src=%g_3, dtype=fp32, mode="rint") : fp32[16, 16] loc("k.py":15)
//   %out.1 = pl.assemble(dst=%out, src=%4, offsets=[0, 0]) : fp32[16, 16] loc("k.py":16)
//   pl.return(values=[%out.1]) loc("k.py":10)
// }
//
// func @mm__aic(%a: int8[16, 64] in, %b: int8[64, 16] in, %out: fp32[16, 16] out) -> () blocks=1 core="aic" group="mm" role="kernel-part" {
//   %0 = pl.full(shape=[16, 16], dtype=int32, value=0) : int32[16, 16] loc("k.py":11)
//   %g_3 = pl.for(start=0, stop=2, step=1, init=[%0], kind="range") : int32[16, 16] loc("k.py":12) {
//     ^(%c: index, %g: int32[16, 16]):
//     %c32 = pl.const(value=32, dtype=index) : index loc("k.py":13)
//     %1 = pl.mul(lhs=%c, rhs=%c32) : index loc("k.py":13)
//     %xc = pl.slice(src=%a, offsets=[0, %1], sizes=[16, 32]) : int8[16, 32] loc("k.py":13)
//     %wc = pl.slice(src=%b, offsets=[%1, 0], sizes=[32, 16]) : int8[32, 16] loc("k.py":14)
//     %3 = pl.matmul_acc(acc=%g, lhs=%xc, rhs=%wc, a_trans=false, b_trans=false) : int32[16, 16] loc("k.py":14)
//     pl.yield(values=[%3]) loc("k.py":12)
//   }
//   pl.tpush(value=%g_3, channel=1) loc("k.py":12)
//   pl.return(values=[]) loc("k.py":10)
// }
//
// func @mm__aiv(%a: int8[16, 64] in, %b: int8[64, 16] in, %out: fp32[16, 16] out) -> (fp32[16, 16]) blocks=1 core="aiv" group="mm" role="kernel-part" {
//   %g_3 = pl.tpop(channel=1, shape=[16, 16], dtype=int32) : int32[16, 16] loc("k.py":12)
//   %4 = pl.cast(src=%g_3, dtype=fp32, mode="rint") : fp32[16, 16] loc("k.py":15)
//   %out.1 = pl.assemble(dst=%out, src=%4, offsets=[0, 0]) : fp32[16, 16] loc("k.py":16)
//   pl.return(values=[%out.1]) loc("k.py":10)
// }
