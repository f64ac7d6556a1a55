"""The channels between the parts of a split mixed kernel: both parts, touching a channel for the
first time at once, get the same queue. (A defaultdict made two queues about 1% of the time under
a short switch interval: one part pushed where the other never looked, and the MoE layer hung.)"""
from __future__ import annotations

import sys
import threading

from pto.sim.interpreter import _Channels


def test_both_parts_get_the_same_queue_for_a_new_channel():
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible: the race needs it
    try:
        for _ in range(2000):
            channels, got, start = _Channels(), [None, None], threading.Barrier(2)

            def part(i: int) -> None:
                start.wait()
                got[i] = channels[7]

            threads = [threading.Thread(target=part, args=(i,)) for i in range(2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert got[0] is got[1]
    finally:
        sys.setswitchinterval(old)
