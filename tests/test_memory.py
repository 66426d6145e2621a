"""portal.memory: the bounded, per-application memory the verification keeps."""
from __future__ import annotations

import threading

from portal.memory import LRU, of_app


def test_the_least_recently_used_goes_first():
    memory = LRU(2)
    memory.put("a", 1)
    memory.put("b", 2)
    assert memory.get("a") == 1  # "a" is now the most recent
    memory.put("c", 3)
    assert "b" not in memory and memory.get("a") == 1 and memory.get("c") == 3
    assert len(memory) == 2


def test_a_smaller_bound_given_with_a_value_drops_the_oldest():
    memory = LRU(4)
    for n in range(4):
        memory.put(n, n)
    memory.put(4, 4, size=2)
    assert [n for n in range(5) if n in memory] == [3, 4]


def test_none_is_a_value_and_discard_forgets():
    memory = LRU(8)
    memory.put(("license", "checker"), None)
    assert ("license", "checker") in memory
    memory.discard(("license", "checker"))
    memory.discard(("license", "checker"))  # twice is harmless
    assert ("license", "checker") not in memory and memory.get(("license", "checker")) is None


def test_threads_never_push_it_past_its_bound():
    memory = LRU(100)

    def fill(start):
        for n in range(start, start + 5000):
            memory.put(n, n)
            memory.get(n - 50)

    threads = [threading.Thread(target=fill, args=(i * 10_000,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(memory) == 100


def test_each_application_has_its_own(app_factory):
    first, second = app_factory(), app_factory()
    with first.app_context():
        mine = of_app("portal_test_memory", lambda: LRU(4))
        mine.put("k", "first")
        assert of_app("portal_test_memory", lambda: LRU(4)) is mine
    with second.app_context():
        assert of_app("portal_test_memory", lambda: LRU(4)).get("k") is None
