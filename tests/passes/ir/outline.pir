// outline: a pl.at region, a run of implicit tile ops, and a tile that crosses into a kernel.
func @k(%x: fp32[4, 8] in, %out: fp32[4, 8] out) -> () auto_scope=true {
  %c2 = pl.const(value=2, dtype=index) : index loc("k.py":3)
  %e = pl.exp(src=%x) : fp32[4, 8] loc("k.py":4)
  %s = pl.slice(src=%x, offsets=[%c2, 0], sizes=[2, 8]) : fp32[2, 8] loc("k.py":5)
  %out.1 = pl.at(name_hint="rows") : fp32[4, 8] loc("k.py":6) {
    %t = pl.slice(src=%e, offsets=[0, 0], sizes=[2, 8]) : fp32[2, 8] loc("k.py":7)
    %u = pl.add(lhs=%t, rhs=%s) : fp32[2, 8] loc("k.py":7)
    %out.2 = pl.assemble(dst=%out, src=%u, offsets=[%c2, 0]) : fp32[4, 8] loc("k.py":7)
    pl.yield(values=[%out.2]) loc("k.py":6)
  }
  pl.return(values=[]) loc("k.py":1)
}
// CHECK:
// func @k(%x: fp32[4, 8] in, %out: fp32[4, 8] out) -> () auto_scope=true role="orchestration" {
//   %c2 = pl.const(value=2, dtype=index) : index loc("k.py":3)
//   %e_ws = pl.create_tensor(shape=[4, 8], dtype=fp32) : fp32[4, 8] loc("k.py":4)
//   %e_ws_0 = pl.call(kernel="implicit_4", args=[%x, %e_ws], blocks=1, outs=[1]) : fp32[4, 8] loc("k.py":4)
//   %out_1 = pl.call(kernel="rows", args=[%e_ws_0, %x, %c2, %out], blocks=1, outs=[3]) : fp32[4, 8] loc("k.py":6)
//   pl.return(values=[]) loc("k.py":1)
// }
//
// func @implicit_4(%x: fp32[4, 8] in, %e_ws: fp32[4, 8] out) -> (fp32[4, 8]) blocks=1 core="aiv" role="kernel" {
//   %e = pl.exp(src=%x) : fp32[4, 8] loc("k.py":4)
//   %e_ws.1 = pl.assemble(dst=%e_ws, src=%e, offsets=[0, 0]) : fp32[4, 8] loc("k.py":4)
//   pl.return(values=[%e_ws.1]) loc("k.py":4)
// }
//
// func @rows(%e_ws: fp32[4, 8] in, %x: fp32[4, 8] in, %c2: index in, %out: fp32[4, 8] out) -> (fp32[4, 8]) blocks=1 core="aiv" role="kernel" {
//   %s = pl.slice(src=%x, offsets=[%c2, 0], sizes=[2, 8]) : fp32[2, 8] loc("k.py":5)
//   %t = pl.slice(src=%e_ws, offsets=[0, 0], sizes=[2, 8]) : fp32[2, 8] loc("k.py":7)
//   %u = pl.add(lhs=%t, rhs=%s) : fp32[2, 8] loc("k.py":7)
//   %out.2 = pl.assemble(dst=%out, src=%u, offsets=[%c2, 0]) : fp32[4, 8] loc("k.py":7)
//   pl.return(values=[%out.2]) loc("k.py":6)
// }
