"""Tests for ecssim.rng: named, independent random streams from one seed."""

from __future__ import annotations

import re
import uuid

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ecssim import rng
from ecssim.rng import STREAM_NAMES, Streams

seeds = st.integers(min_value=0, max_value=2**64)


def _draws(streams: Streams, name: str, n: int = 8) -> list[int]:
    return streams[name].integers(0, 2**62, size=n).tolist()


def test_stream_names_keep_their_order() -> None:
    """Existing stream names keep their positions (new ones may only be appended)."""
    assert STREAM_NAMES[:9] == (
        "ids",
        "victims",
        "task_timing",
        "arrivals",
        "durations",
        "faults",
        "api",
        "workers",
        "sessions",
    )
    assert len(set(STREAM_NAMES)) == len(STREAM_NAMES)


@given(seed=seeds)
def test_same_seed_gives_same_draws_on_every_stream(seed: int) -> None:
    """Two Streams built from one seed draw identical numbers from each stream."""
    first, second = Streams(seed), Streams(seed)
    for name in STREAM_NAMES:
        assert _draws(first, name) == _draws(second, name)


def test_different_seeds_give_different_draws() -> None:
    """Different seeds give different numbers on the same stream."""
    assert _draws(Streams(1), "victims") != _draws(Streams(2), "victims")


def test_streams_of_one_seed_differ_from_each_other() -> None:
    """Each named stream of one seed draws its own sequence."""
    streams = Streams(42)
    sequences = {tuple(_draws(streams, name)) for name in STREAM_NAMES}
    assert len(sequences) == len(STREAM_NAMES)


@given(seed=seeds, noisy=st.sampled_from(STREAM_NAMES), n=st.integers(0, 50))
def test_drawing_from_one_stream_does_not_shift_another(
    seed: int, noisy: str, n: int
) -> None:
    """Extra draws on one stream leave every other stream's draws unchanged."""
    quiet, busy = Streams(seed), Streams(seed)
    busy[noisy].random(n)
    for name in STREAM_NAMES:
        if name != noisy:
            assert _draws(quiet, name) == _draws(busy, name)


def test_streams_are_spawned_children_of_the_seed_sequence() -> None:
    """Stream i is default_rng(SeedSequence(seed).spawn(...)[i]), so draws are pinned."""
    children = np.random.SeedSequence(2024).spawn(len(STREAM_NAMES))
    streams = Streams(2024)
    for name, child in zip(STREAM_NAMES, children, strict=True):
        expected = np.random.default_rng(child).integers(0, 2**62, size=8).tolist()
        assert _draws(streams, name) == expected


def test_appending_a_stream_name_keeps_existing_draws(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Adding a new stream at the end does not change what the existing streams draw."""
    before = {name: _draws(Streams(7), name) for name in STREAM_NAMES}
    monkeypatch.setattr(rng, "STREAM_NAMES", (*STREAM_NAMES, "brand_new"))
    after = Streams(7)
    assert {name: _draws(after, name) for name in STREAM_NAMES} == before
    assert len(_draws(after, "brand_new")) == 8


def test_a_stream_is_one_generator_that_continues() -> None:
    """Looking a stream up twice returns the same generator, so draws continue."""
    streams = Streams(3)
    assert streams["faults"] is streams["faults"]
    assert _draws(streams, "faults") != _draws(streams, "faults")


def test_unknown_stream_name_is_a_key_error_naming_it() -> None:
    """Asking for a stream that does not exist raises KeyError with its name."""
    with pytest.raises(KeyError, match="'victim'"):
        Streams(0)["victim"]


@pytest.mark.parametrize("seed", [-1, True, 1.5, "1", None])
def test_invalid_seed_is_rejected_naming_it(seed: object) -> None:
    """A seed that is not a non-negative integer raises ValueError naming the value."""
    with pytest.raises(
        ValueError, match="seed must be a non-negative integer"
    ) as excinfo:
        Streams(seed)  # type: ignore[arg-type]
    assert repr(seed) in str(excinfo.value)


def test_hex_ids_look_like_task_ids_and_are_reproducible() -> None:
    """hex_id gives 32 lowercase hex characters (2 per byte), the same for the same seed."""
    first, second = Streams(11), Streams(11)
    ids = [first.hex_id() for _ in range(5)]
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)
    assert len(set(ids)) == 5
    assert [second.hex_id() for _ in range(5)] == ids
    assert re.fullmatch(r"[0-9a-f]{8}", first.hex_id(4))


def test_uuids_are_version_4_and_reproducible() -> None:
    """uuid() gives RFC 4122 version-4 UUID strings, the same for the same seed."""
    first, second = Streams(5), Streams(5)
    values = [first.uuid() for _ in range(5)]
    for value in values:
        parsed = uuid.UUID(value)
        assert str(parsed) == value
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122
    assert [second.uuid() for _ in range(5)] == values


def test_ids_do_not_touch_other_streams() -> None:
    """Drawing ids leaves the victims stream unchanged."""
    plain, with_ids = Streams(9), Streams(9)
    with_ids.hex_id()
    with_ids.uuid()
    assert _draws(plain, "victims") == _draws(with_ids, "victims")
