"""`pto bench NAME` hands its remaining arguments to benchmarks/NAME.py's own main."""
import pytest

from pto.cli import main


def test_bench_passes_its_arguments_to_the_benchmark(capsys):
    with pytest.raises(SystemExit) as e:
        main(["bench", "memory_plan", "--help"])
    assert e.value.code == 0
    assert "--json" in capsys.readouterr().out  # memory_plan's own option, not pto's


def test_an_unknown_benchmark_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as e:
        main(["bench", "nonsense"])
    assert e.value.code == 2
    assert "compile_time" in capsys.readouterr().err  # the choices are listed
