from __future__ import annotations

import base64
import uuid

import orjson
from hypothesis import given
from hypothesis import strategies as st

from edgewatch.detections import DLQ_VALUE_BYTES, Detection, detection_id, dlq_message, uuid5_str
from edgewatch.errors import RecordError


def test_id_depends_on_asset_and_seq_only() -> None:
    a = Detection("pump", 1, 7, 0.9, 0.5, True, "m", "1")
    b = Detection("pump", 99, 7, 0.1, 0.3, False, "other", "2")
    assert a.id == b.id == detection_id("pump", 7)
    assert detection_id("pump", 8) != a.id
    assert detection_id("pum", 7) != a.id


def test_encode_carries_the_contract_fields() -> None:
    out = orjson.loads(Detection("pump", 1, 7, 0.9, 0.5, True, "m", "1", label=1).encode())
    assert out["id"] == detection_id("pump", 7)
    assert {
        "asset",
        "ts",
        "seq",
        "score",
        "prefilter_score",
        "threshold",
        "decision",
        "model",
    } <= out.keys()
    assert out["label"] == 1


def test_dlq_message_keeps_original_bytes_and_reason() -> None:
    error = RecordError("ts", "wrong_type", "must be an integer", "x")
    out = orjson.loads(dlq_message(error, b"\x00raw", "in", 2, 40))
    assert out["reason"] == "wrong_type"
    assert out["field"] == "ts"
    assert (out["topic"], out["partition"], out["offset"]) == ("in", 2, 40)
    assert base64.b64decode(out["value_b64"]) == b"\x00raw"
    assert (out["size"], out["truncated"]) == (4, False)


def test_dlq_message_of_a_huge_value_stays_small_and_says_what_was_cut() -> None:
    error = RecordError("<message>", "too_large", "must be at most 65536 bytes", 1_000_000)
    value = bytes(range(256)) * 3_907  # about 1 MB, as much as a broker accepts
    encoded = dlq_message(error, value, "in", 0, 7)
    assert len(encoded) < 100_000
    out = orjson.loads(encoded)
    assert out["truncated"] is True
    assert out["size"] == len(value)
    assert base64.b64decode(out["value_b64"]) == value[:DLQ_VALUE_BYTES]


@given(st.uuids(), st.text())
def test_uuid5_str_equals_the_standard_library(namespace: uuid.UUID, name: str) -> None:
    assert uuid5_str(namespace, name) == str(uuid.uuid5(namespace, name))
