"""Segments: layout, reductions and fills on hand-worked arrays."""

from __future__ import annotations

import numpy as np
import pytest

from models.segments import (
    RowLayout,
    Segments,
    forward_fill_index,
    previous_index,
    stable_argsort,
)


def test_layout_and_reductions() -> None:
    seg = Segments.from_lengths(np.array([2, 3, 1]))
    np.testing.assert_array_equal(seg.start, [0, 2, 5])
    np.testing.assert_array_equal(seg.index, [0, 0, 1, 1, 1, 2])
    np.testing.assert_array_equal(seg.position, [0, 1, 0, 1, 2, 0])
    np.testing.assert_array_equal(seg.last, [False, True, False, False, True, True])
    np.testing.assert_array_equal(seg.sum(np.arange(6.0)), [1.0, 9.0, 5.0])
    np.testing.assert_array_equal(seg.broadcast(np.array([1.0, 2, 3])), [1, 1, 2, 2, 2, 3])
    kept = seg.take(np.array([True, False, True]))
    np.testing.assert_array_equal(kept.length, [2, 1])
    np.testing.assert_array_equal(seg.rows_of(np.array([False, True, False])), [0, 0, 1, 1, 1, 0])


def test_from_first_flags_matches_lengths() -> None:
    seg = Segments.from_first_flags(np.array([True, False, True, True, False, False]))
    np.testing.assert_array_equal(seg.length, [2, 1, 3])


def test_empty_segments_are_rejected() -> None:
    with pytest.raises(ValueError, match="non-empty"):
        Segments.from_lengths(np.array([2, 0]))


def test_fills_never_cross_segments() -> None:
    seg = Segments.from_lengths(np.array([3, 3]))
    mark = np.array([True, False, False, False, True, False])
    np.testing.assert_array_equal(forward_fill_index(mark, seg), [0, 0, 0, -1, 4, 4])
    np.testing.assert_array_equal(previous_index(mark, seg), [-1, 0, 0, -1, -1, 4])


def test_row_layout_round_trips_with_little_padding() -> None:
    rng = np.random.default_rng(0)
    seg = Segments.from_lengths(rng.integers(1, 3000, 400))
    layout = RowLayout.of(seg)
    x = rng.normal(size=seg.rows)
    np.testing.assert_array_equal(layout.unpad(layout.pad(x)), x)
    assert layout.size <= 1.2 * seg.rows
    assert (layout.widths >= seg.length[layout.unit_order]).all()
    row_start = np.concatenate([[0], np.cumsum(layout.widths)[:-1]])
    for start, rows, width in layout.blocks:  # blocks tile the padded array by equal widths
        np.testing.assert_array_equal(
            layout.widths[np.searchsorted(row_start, start) :][:rows], width
        )


def test_stable_argsort_is_the_stable_argsort() -> None:
    rng = np.random.default_rng(5)
    for high in (3, 1000, 2**45, 2**55):  # the last falls back to np.argsort
        key = rng.integers(0, high, 10_000).astype(np.int64)
        np.testing.assert_array_equal(stable_argsort(key), np.argsort(key, kind="stable"))
