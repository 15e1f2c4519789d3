from __future__ import annotations

import hashlib

import numpy as np
import pytest

from edgewatch.errors import ConfigError
from edgewatch.producers.simulated import EVENT_KINDS, FleetSpec, simulate_fleet
from edgewatch.records import encode_record


def _digest(spec: FleetSpec) -> str:
    h = hashlib.sha256()
    for record in simulate_fleet(spec).records():
        h.update(encode_record(record))
    return h.hexdigest()


def test_same_seed_gives_byte_identical_records() -> None:
    spec = FleetSpec(points=5_000)
    assert _digest(spec) == _digest(spec)
    assert _digest(spec) != _digest(FleetSpec(points=5_000, seed=43))


@pytest.fixture(scope="module")
def fleet():  # the paper's full set: 5 series x 50,000 points, seed 42
    return simulate_fleet()


def test_paper_shape_and_anomaly_fraction(fleet) -> None:
    assert fleet.values.shape == fleet.labels.shape == (5, 50_000)
    assert np.isclose(fleet.labels.mean(axis=1), 0.15, atol=0.001).all()
    assert set(np.unique(fleet.labels)) == {0, 1}


def test_events_have_the_documented_kinds_and_lengths(fleet) -> None:
    kinds = {kind for _, kind, _, _ in fleet.events}
    assert kinds == set(EVENT_KINDS)
    truncated = 0
    for asset, kind, start, end in fleet.events:
        low, high, _ = EVENT_KINDS[kind]
        assert end - start <= high
        truncated += end - start < low  # only the last event of a series may be cut short
        assert fleet.labels[asset, start:end].all()
    assert truncated <= fleet.spec.assets
    labelled = sum(end - start for _, _, start, end in fleet.events)
    assert labelled == fleet.labels.sum()


def test_clean_series_is_a_period_24_sine_with_3_percent_noise() -> None:
    clean = simulate_fleet(FleetSpec(points=24_000, anomaly_fraction=0.0, trend=0.0, assets=3))
    for series in clean.values:
        spectrum = np.abs(np.fft.rfft(series - series.mean()))
        peak = spectrum.argmax()
        assert 1 / np.fft.rfftfreq(series.size)[peak] == pytest.approx(24)
        clean_range = 2 * (2 * spectrum[peak] / series.size)  # peak to peak of the sine
        # The seasonal difference cancels the sine: what is left is the difference of two
        # independent noise draws, whose sd is sqrt(2) times the noise sd.
        noise_sd = (series[24:] - series[:-24]).std() / np.sqrt(2)
        assert noise_sd / clean_range == pytest.approx(0.03, rel=0.05)


def test_records_are_time_ordered_with_consecutive_seq_per_asset(fleet) -> None:
    records = list(fleet.records(limit=1_000))
    assert len(records) == 1_000
    assert [r.ts for r in records] == sorted(r.ts for r in records)
    for asset in fleet.asset_ids:
        seqs = [r.seq for r in records if r.asset == asset]
        assert seqs == list(range(len(seqs)))
    assert records[0].label == fleet.labels[0, 0]
    assert records[6].values == {"value": fleet.values[1, 1]}


@pytest.mark.parametrize(
    ("change", "name"),
    [
        ({"assets": 0}, "assets"),
        ({"points": 10}, "points"),
        ({"anomaly_fraction": 0.9}, "anomaly_fraction"),
    ],
)
def test_bad_parameters_name_the_parameter(change: dict[str, float], name: str) -> None:
    with pytest.raises(ConfigError, match=name):
        FleetSpec(**change)  # type: ignore[arg-type]
