"""The operator chain reproduces the offline evaluation of the shipped simulated artifact."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edgewatch.models.artifacts import load_model
from edgewatch.models.metrics import evaluate
from edgewatch.models.windows import simulated_splits
from edgewatch.operators import Chain, Threshold
from edgewatch.operators.scoring import CardScaler, ModelScorer
from edgewatch.operators.windowing import CountWindows, Window, WindowBatch
from edgewatch.producers.simulated import simulate_fleet

CARD = (
    Path(__file__).resolve().parents[2]
    / "models"
    / "artifacts"
    / "simulated-edge_cnn_lstm-int8.json"
)


def test_card_scaler_uses_asset_statistics_then_global() -> None:
    scaler = CardScaler(
        {
            "mode": "per_asset",
            "mean": [1.0],
            "std": [2.0],
            "assets": {"k": {"mean": [10.0], "std": [5.0]}},
        }
    )
    from edgewatch.records import SensorRecord

    known = Window(SensorRecord("k", 0, 0, {"v": 0.0}, "t"), np.array([[20.0], [15.0]]))
    other = Window(SensorRecord("u", 0, 0, {"v": 0.0}, "t"), np.array([[3.0], [5.0]]))
    known, other = scaler.process(WindowBatch.of([known, other]))
    np.testing.assert_allclose(known.values[:, 0], [2.0, 1.0])
    np.testing.assert_allclose(other.values[:, 0], [1.0, 2.0])


@pytest.mark.skipif(not CARD.is_file(), reason="shipped artifact missing")
def test_streaming_chain_matches_offline_evaluation() -> None:
    model = load_model(CARD)
    fleet = simulate_fleet()
    start = round(0.85 * fleet.spec.points)  # the test split, as the offline evaluation cut it
    records = [r for r in fleet.records() if r.seq >= start]
    scorer = ModelScorer(model.score, batch_size=256)
    chain = Chain(
        Chain(CountWindows(model.channels, model.seq_len), CardScaler(model.card["scaling"])),
        Chain(scorer, Threshold(model.threshold)),
    )
    streamed = []
    for i in range(0, len(records), 2_000):  # micro-batches as a member would poll them
        streamed += chain.process(records[i : i + 2_000])
    offline = simulated_splits(seq_len=model.seq_len).test
    assert len(streamed) == len(offline)
    # streaming interleaves assets; the offline set is asset by asset: align by (asset, seq)
    order = sorted(
        range(len(streamed)), key=lambda i: (streamed[i].record.asset, streamed[i].record.seq)
    )
    scores = np.array([streamed[i].score for i in order])
    labels = np.array([streamed[i].record.label for i in order])
    np.testing.assert_array_equal(labels, offline.y)
    offline_scores = model.score(offline.x)
    # Dynamic INT8 quantizes activations per batch, so a window's batch-mates move its score a
    # little (offline scores the split as one batch, the stream 256 at a time).
    diff = np.abs(scores - offline_scores)
    assert np.quantile(diff, 0.99) < 0.03  # measured 0.0145 (median 0.00015)
    assert diff.max() < 0.1
    f1_stream = evaluate(labels, scores, model.threshold).f1
    f1_offline = evaluate(offline.y, offline_scores, model.threshold).f1
    assert abs(f1_stream - f1_offline) <= 0.002
    assert scorer.windows == len(offline)


def test_submitted_batches_are_scored_in_order_while_the_caller_works() -> None:
    from edgewatch.records import SensorRecord

    def batch(offset: float) -> WindowBatch:
        records = [SensorRecord("a", i, i, {"v": 0.0}, "t") for i in range(5)]
        return WindowBatch(records, np.arange(5.0).reshape(5, 1, 1) + offset)

    scorer = ModelScorer(lambda x: x[:, -1, 0].astype(np.float64), batch_size=2)
    first, second = scorer.submit(batch(0.0)), scorer.submit(batch(10.0))
    assert [s.score for s in second()] == [10.0, 11.0, 12.0, 13.0, 14.0]
    assert [s.score for s in first()] == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert (scorer.windows, scorer.invocations) == (10, 6)
