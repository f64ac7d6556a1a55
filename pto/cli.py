"""The `pto` command.

  pto run FILE [-p ref|a2a3sim] [--seed N] [--no-sanitize] [--timing] [--dump-ir DIR] [--scope-stats] [-k NAME]
                                    run the cases FILE defines, compare with goldens
  pto build FILE [-k NAME] [-o DIR] compile each case into build/<entry>-<hash>/
  pto dump FILE [-k NAME]           print the IR of each case's kernel
  pto bench NAME [ARGS...]          run benchmarks/NAME.py (compile_time, sim_throughput, memory_plan,
                                    schedule) with its own arguments
"""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
from pathlib import Path

from .errors import PtoError
from .analysis.scope_stats import format_table, scope_stats, to_json_lines
from .codegen.artifacts import build
from .ir.core import Function
from .ir.printer import print_function
from .lints import lint
from .passes.pipeline import Compilation, CompileOptions, compile_function
from .testing import Case, format_comparisons, run_case
from .sim import DEFAULT_PLATFORM, PLATFORMS, sim_options


def load_cases(path: str, name_filter: str | None) -> list[Case]:
    file = Path(path)
    if not file.is_file():
        raise SystemExit(f"pto: no such file: {path}")
    spec = importlib.util.spec_from_file_location(f"pto_case_{file.stem}", file)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses (and pickling) look their module up there
    sys.path.insert(0, str(file.parent.resolve()))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.pop(0)
    cases = getattr(module, "CASES", None)
    if not cases:
        raise SystemExit(f"pto: {path} defines no CASES list")
    return [c for c in cases if name_filter is None or name_filter in c.name]


def compile_case(case: Case, dump_dir: Path | None) -> Compilation:
    """Trace the case's kernel and run the pass pipeline (dumping NN_<pass>.pir when asked)."""
    compiled = case.kernel.compile(**case.make_inputs(), **case.consts)
    return compile_function(compiled.function, CompileOptions(dump_dir=dump_dir))


def report_scope_stats(case: Case, c: Compilation) -> None:
    plan = c.facts["memplan"]
    rows = scope_stats(c.program.entry, plan)
    print(f"scope stats of {case.name} (bytes; workspace plan: naive {plan.naive:,}, planned peak "
          f"{plan.workspace:,}, liveness lower bound {plan.lower_bound:,}):")
    print(format_table(rows))
    out = Path("build") / "scope_stats" / f"{case.name}.jsonl"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(to_json_lines(rows))
    print(f"written to {out}")


def report_measured_scope_stats(case: Case) -> None:
    """The same rows measured on the a2a3sim run just made (pto/sim/measured_scopes.py)."""
    from .sim.a2a3sim import simulation_of
    from .sim.measured_scopes import measured_scope_stats
    sim = simulation_of(case.kernel.compile(**case.make_inputs(), **case.consts))
    measured = measured_scope_stats(sim)
    compiled = scope_stats(sim.entry, sim.compilation.facts["memplan"])
    verdict = "agree with the compile-time figures" if measured == compiled else (
        "differ from the compile-time figures: a planned use touched nothing in this run (data dependent)")
    print(f"scope stats of {case.name} measured on a2a3sim ({verdict}):")
    print(format_table(measured))


def print_lints(function: Function) -> None:
    """The lint warnings of a traced function, one line each, on stderr."""
    for w in lint(function):
        print(w, file=sys.stderr)


def cmd_build(args: argparse.Namespace) -> int:
    for case in load_cases(args.file, args.k):
        compiled = case.kernel.compile(**case.make_inputs(), **case.consts)
        out, _ = build(compiled.function, Path(args.output))
        print(f"{case.name}: {out}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    failed = 0
    for case in load_cases(args.file, args.k):
        out, _ = build(case.kernel.compile(**case.make_inputs(), **case.consts).function)
        print(f"{case.name}: artifacts in {out}")
        print_lints(case.kernel.compile(**case.make_inputs(), **case.consts).function)
        if args.dump_ir or args.scope_stats:
            c = compile_case(case, Path(args.dump_ir) / case.name if args.dump_ir else None)
            if args.scope_stats:
                report_scope_stats(case, c)
        with sim_options(seed=args.seed, sanitize=not args.no_sanitize):
            _, comparisons = run_case(case, platform=args.platform)
        print(format_comparisons(case, comparisons))
        if (args.platform or DEFAULT_PLATFORM) == "a2a3sim":
            from .sim.trace import report_run
            if args.scope_stats and not args.no_sanitize:
                report_measured_scope_stats(case)
            print(report_run(case, out, timing=args.timing))
        failed += not all(c.ok for c in comparisons)
    print("FAILED" if failed else "PASSED", f"({failed} case(s) mismatched)" if failed else "")
    return 1 if failed else 0


def cmd_dump(args: argparse.Namespace) -> int:
    for case in load_cases(args.file, args.k):
        compiled = case.kernel.compile(**case.make_inputs(), **case.consts)
        print(f"// case {case.name}")
        print(print_function(compiled.function))
        print_lints(compiled.function)
    return 0


BENCHMARKS = ("compile_time", "sim_throughput", "memory_plan", "schedule")


def cmd_bench(args: argparse.Namespace) -> int:
    """The benchmarks are a package beside `pto` (installed with it), each with its own `main`."""
    module = importlib.import_module(f"benchmarks.{args.name}")
    return module.main(args.args)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pto", description="pto: tile kernels for Ascend a2a3")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the cases a file defines and compare with their goldens")
    run.add_argument("file")
    run.add_argument("-p", "--platform", default=None, choices=PLATFORMS,
                     help=f"execution platform (default: {DEFAULT_PLATFORM})")
    run.add_argument("--seed", type=int, default=None,
                     help="a2a3sim: run ready tasks in the random order of this seed (default: program order)")
    run.add_argument("--no-sanitize", action="store_true", help="a2a3sim: do not check accesses (faster)")
    run.add_argument("--dump-ir", metavar="DIR", help="write the IR after tracing and after each pass under DIR")
    run.add_argument("--scope-stats", action="store_true", help="print per-scope memory statistics")
    run.add_argument("-k", metavar="NAME", help="only cases whose name contains NAME")
    run.add_argument("--timing", action="store_true",
                     help="print the a2a3 timing model's prediction (makespan, critical path, utilization)")
    build_cmd = sub.add_parser("build", help="compile each case and write its artifact directory")
    build_cmd.add_argument("file")
    build_cmd.add_argument("-k", metavar="NAME")
    build_cmd.add_argument("-o", "--output", default="build", help="where build/<entry>-<hash>/ goes")
    dump = sub.add_parser("dump", help="print the IR of each case's kernel")
    dump.add_argument("file")
    dump.add_argument("-k", metavar="NAME")
    bench = sub.add_parser("bench", help="run one of the benchmarks under benchmarks/")
    bench.add_argument("name", choices=BENCHMARKS)
    bench.add_argument("args", nargs=argparse.REMAINDER, help="the benchmark's own arguments")
    args = parser.parse_args(argv)
    try:
        return {"run": cmd_run, "build": cmd_build, "dump": cmd_dump, "bench": cmd_bench}[args.command](args)
    except PtoError as e:
        print(str(e), file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
