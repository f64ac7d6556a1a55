"""Every regression program a test runs on a2a3sim (the default platform, under the sanitizer in
program order) is also run under the random schedules of seeds 0..9 and must give the same bits
(issue 10: each pattern on the reference interpreter and on a2a3sim, seeds 0..9)."""
from __future__ import annotations

import numpy as np
import pytest

from pto.frontend.jit import Compiled
from pto.sim import DEFAULT_PLATFORM
from pto.sim.a2a3sim import SimOptions, simulation_of

SEEDS = range(10)


def _arrays(values) -> list[np.ndarray]:
    return [np.asarray(v) for v in values if isinstance(v, np.ndarray)]


@pytest.fixture(autouse=True)
def every_seed(monkeypatch, check_pipeline_on_every_kernel):
    checked_run = Compiled.run  # tests/conftest.py's: also re-runs the compiled program on ref

    def run_under_every_seed(self, *args, platform=None, **kwargs):
        if (platform or DEFAULT_PLATFORM) != "a2a3sim":
            return checked_run(self, *args, platform=platform, **kwargs)
        before = [np.array(a) if isinstance(a, np.ndarray) else a for a in self.runtime_args(args, kwargs)]
        result = checked_run(self, *args, platform=platform, **kwargs)
        outs = list(result) if isinstance(result, tuple) else ([] if result is None else [result])
        want = _arrays(self.runtime_args(args, kwargs)) + [np.asarray(o) for o in outs]
        for seed in SEEDS:
            again = [np.array(a) if isinstance(a, np.ndarray) else a for a in before]
            got = simulation_of(self).run(again, SimOptions(seed=seed, sanitize=False))
            for i, (a, b) in enumerate(zip(want, _arrays(again) + got)):
                assert a.tobytes() == b.tobytes(), f"array {i} differs under the schedule of seed {seed}"
        return result

    monkeypatch.setattr(Compiled, "run", run_under_every_seed)
