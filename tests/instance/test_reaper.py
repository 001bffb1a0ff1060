"""The reaper's lanes (instance/reaper.py): a worker's teardowns run in order in a thread
of their own, so a slow teardown of one worker never holds up another's; the run's end
(close) waits for every lane."""

import threading
import time

from scftest.instance.reaper import Reaper


def test_a_slow_teardown_holds_up_only_its_own_lane():
    reaper = Reaper()
    release, other_done = threading.Event(), threading.Event()
    order = []

    def slow():
        release.wait(30)
        order.append("slow")
        return []

    def after_slow():
        order.append("after slow")
        return []

    def other():
        order.append("other")
        other_done.set()
        return []

    try:
        reaper.hold(slow, "f", lane="worker 1")
        reaper.hold(after_slow, "f", lane="worker 1")
        reaper.hold(other, "f", lane="worker 2")
        assert other_done.wait(10), "worker 2's teardown waited for worker 1's"
        deadline = time.monotonic() + 10  # worker 2's lane counts it done just after it ran
        while reaper.pending != 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert order == ["other"] and reaper.pending == 2
    finally:
        release.set()
        reaper.close()
    assert order == ["other", "slow", "after slow"] and reaper.pending == 0 and reaper.done == 3


def test_a_lanes_teardowns_run_in_the_order_held_and_close_waits_for_all():
    reaper = Reaper(backlog=2)  # a full lane makes its worker wait, in order
    seen = []
    for lane in ("a", "b"):
        for n in range(6):
            reaper.hold(lambda lane=lane, n=n: seen.append((lane, n)) or [], "f", lane=lane)
    reaper.close()
    assert [n for lane, n in seen if lane == "a"] == list(range(6))
    assert [n for lane, n in seen if lane == "b"] == list(range(6))
    assert reaper.done == 12
    reaper.hold(lambda: seen.append("again") or [], "f")  # it serves again after close
    reaper.close()
    assert seen[-1] == "again"


def test_the_default_lane_is_the_holding_thread():
    """Two workers holding teardowns without naming a lane get a lane each."""
    reaper = Reaper()
    release, quick_done = threading.Event(), threading.Event()

    def slow():
        release.wait(30)
        return []

    def quick():
        quick_done.set()
        return []

    def worker(teardown, held):
        reaper.hold(teardown, "f")
        held.set()
        release.wait(30)  # alive (its thread id taken) until the end, as a run's workers are

    workers = []
    try:
        for teardown in (slow, quick):
            held = threading.Event()
            workers.append(threading.Thread(target=worker, args=(teardown, held)))
            workers[-1].start()
            assert held.wait(10)
        assert quick_done.wait(10), "the second worker's teardown waited for the first's"
    finally:
        release.set()
        for thread in workers:
            thread.join()
        reaper.close()
    assert reaper.done == 2
