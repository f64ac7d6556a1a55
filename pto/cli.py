"""The `pto` command.

  pto run FILE [-p PLATFORM] [--dump-ir DIR] [-k NAME]   run the cases FILE defines, compare with goldens
  pto dump FILE [-k NAME]                                print the IR of each case's kernel
"""
from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

from .errors import PtoError
from .ir.printer import print_function
from .testing import Case, format_comparisons, run_case


def load_cases(path: str, name_filter: str | None) -> list[Case]:
    file = Path(path)
    if not file.is_file():
        raise SystemExit(f"pto: no such file: {path}")
    spec = importlib.util.spec_from_file_location(f"pto_case_{file.stem}", file)
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(file.parent.resolve()))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.pop(0)
    cases = getattr(module, "CASES", None)
    if not cases:
        raise SystemExit(f"pto: {path} defines no CASES list")
    return [c for c in cases if name_filter is None or name_filter in c.name]


def dump_ir(case: Case, directory: Path) -> None:
    compiled = case.kernel.compile(**case.make_inputs(), **case.consts)
    out = directory / case.name
    out.mkdir(parents=True, exist_ok=True)
    (out / "00_trace.pir").write_text(print_function(compiled.function))


def cmd_run(args: argparse.Namespace) -> int:
    failed = 0
    for case in load_cases(args.file, args.k):
        if args.dump_ir:
            dump_ir(case, Path(args.dump_ir))
        _, comparisons = run_case(case, platform=args.platform)
        print(format_comparisons(case, comparisons))
        failed += not all(c.ok for c in comparisons)
    print("FAILED" if failed else "PASSED", f"({failed} case(s) mismatched)" if failed else "")
    return 1 if failed else 0


def cmd_dump(args: argparse.Namespace) -> int:
    for case in load_cases(args.file, args.k):
        compiled = case.kernel.compile(**case.make_inputs(), **case.consts)
        print(f"// case {case.name}")
        print(print_function(compiled.function))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pto", description="pto: tile kernels for Ascend a2a3")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the cases a file defines and compare with their goldens")
    run.add_argument("file")
    run.add_argument("-p", "--platform", default=None, help="execution platform (default: ref)")
    run.add_argument("--dump-ir", metavar="DIR", help="write the IR of each case under DIR")
    run.add_argument("-k", metavar="NAME", help="only cases whose name contains NAME")
    dump = sub.add_parser("dump", help="print the IR of each case's kernel")
    dump.add_argument("file")
    dump.add_argument("-k", metavar="NAME")
    args = parser.parse_args(argv)
    try:
        return {"run": cmd_run, "dump": cmd_dump}[args.command](args)
    except PtoError as e:
        print(str(e), file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
