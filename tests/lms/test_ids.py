"""Time-ordered primary keys for the hot tables (lms.ids)."""

from __future__ import annotations

import time
import uuid

from lms.ids import time_ordered_uuid


def test_a_time_ordered_uuid_is_an_rfc_9562_version_7():
    value = time_ordered_uuid()
    assert value.version == 7
    assert value.variant == uuid.RFC_4122


def test_its_first_48_bits_are_the_unix_milliseconds():
    before = time.time_ns() // 1_000_000
    value = time_ordered_uuid()
    after = time.time_ns() // 1_000_000
    assert before <= value.int >> 80 <= after


def test_ids_made_in_later_milliseconds_sort_after_earlier_ones_and_never_repeat():
    first = time_ordered_uuid()
    time.sleep(0.002)
    later = [time_ordered_uuid() for _ in range(10_000)]
    assert all(str(first) < str(value) for value in later)
    assert len(set(later)) == len(later)
