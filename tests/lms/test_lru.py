"""The in-process LRU for immutable lookups: bounded by weight, safe under threads."""

from __future__ import annotations

import threading

from lms.lru import WeightedLRU


def test_drops_the_least_recently_used_entries_past_its_bound():
    cache = WeightedLRU(max_weight=10, weigh=len)
    cache.put_many({"a": b"aaaa", "b": b"bbbb"})
    assert cache.get("a") == b"aaaa"  # "a" is now the most recently used

    cache.put("c", b"cccc")

    assert set(cache.get_many(["a", "b", "c"])) == {"a", "c"} and cache.weight == 8
    cache.put("huge", b"x" * 50)  # heavier than the bound: kept alone
    assert set(cache.get_many(["a", "c", "huge"])) == {"huge"} and len(cache) == 1


def test_replacing_a_key_counts_its_weight_once():
    cache = WeightedLRU(max_weight=100, weigh=len)
    cache.put("a", b"12345")
    cache.put("a", b"123")
    assert cache.weight == 3 and cache.get("a") == b"123"
    cache.clear()
    assert cache.weight == 0 and cache.get("a") is None


def test_keeps_its_weight_exact_under_concurrent_threads():
    cache = WeightedLRU(max_weight=50, weigh=len)
    batches = [{(index, version): b"xyz" for version in range(4)} for index in range(8)]

    def churn(batch):
        for _ in range(200):
            cache.put_many(batch)
            cache.get_many(list(batch))

    threads = [threading.Thread(target=churn, args=(batch,)) for batch in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    held = cache.get_many([key for batch in batches for key in batch])
    assert cache.weight == sum(len(value) for value in held.values()) <= 50
