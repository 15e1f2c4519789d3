from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from edgewatch.errors import EdgewatchError, RecordError
from edgewatch.records import (
    MAX_MESSAGE_BYTES,
    MAX_NAME_CHARS,
    MAX_VALUE,
    REASONS,
    SensorRecord,
    _decode_dict,
    decode_record,
    encode_record,
)

names = st.text(
    alphabet=st.characters(codec="utf-8", categories=("L", "N", "P", "Zs")),
    min_size=1,
    max_size=MAX_NAME_CHARS,
).filter(str.isprintable)
finite = st.floats(-MAX_VALUE, MAX_VALUE) | st.integers(-(2**53), 2**53)
records = st.builds(
    SensorRecord,
    asset=names,
    ts=st.integers(0, 2**53 - 1),
    seq=st.integers(0, 2**63 - 1),
    values=st.dictionaries(names, finite, min_size=1, max_size=20),
    source=names,
    label=st.none() | st.sampled_from([0, 1]),
)

VALID = {
    "v": 1,
    "asset": "pump-1",
    "ts": 1_700_000_000_000,
    "seq": 3,
    "values": {"t": 1.5},
    "source": "x",
}


@given(records)
def test_round_trip(record: SensorRecord) -> None:
    assert decode_record(encode_record(record)) == record


@given(st.binary(max_size=300))
def test_random_bytes_rejected_with_typed_error(data: bytes) -> None:
    _decode_or_reason(data)  # some byte strings happen to be valid records


def _decode_or_reason(data: bytes) -> None:
    """Decode, or fail with a `RecordError` of a known reason; anything else propagates."""
    try:
        decode_record(data)
    except RecordError as exc:
        reason = exc.reason
    else:
        return
    assert reason in REASONS


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@given(st.dictionaries(st.sampled_from([*VALID, "label", "extra"]), json_values))
def test_arbitrary_json_objects_never_raise_untyped(obj: dict[str, object]) -> None:
    try:
        data = orjson.dumps(obj)
    except (TypeError, orjson.JSONEncodeError):
        return  # not encodable to begin with (e.g. an int past 64 bits)
    _decode_or_reason(data)


def _outcome(decode: Callable[[bytes], SensorRecord], data: bytes) -> object:
    try:
        return decode(data)
    except RecordError as exc:
        return (exc.reason, exc.field)


def _mostly(valid: object) -> st.SearchStrategy[object]:
    """``valid`` three times in four, else any JSON value."""
    return st.sampled_from([valid] * 3 + [None]).flatmap(
        lambda v: json_values if v is None else st.just(v)
    )


@given(
    st.fixed_dictionaries(
        {
            **{k: _mostly(v) for k, v in VALID.items() if k != "values"},
            "values": st.dictionaries(names, finite, min_size=1, max_size=3)
            | st.dictionaries(names | st.text(), finite | json_values, max_size=3),
        },
        optional={"label": _mostly(1)},
    )
)
def test_the_fast_decoder_accepts_what_the_field_by_field_one_does(obj: dict[str, Any]) -> None:
    """Oracle: the msgspec path and the dict path take the same messages and name the same
    rule for the rest (the fast path reads integer readings as floats: equal values)."""
    try:  # json, not orjson: integers past 64 bits too
        data = json.dumps(obj, allow_nan=False).encode()
    except ValueError:
        return  # infinities are no JSON
    assert _outcome(decode_record, data) == _outcome(_decode_dict, data)


_RECORD = b'{"v":1,"asset":%s,"ts":5,"seq":%s,"values":{"t":%s},"label":%s,"source":"s"}'


@pytest.mark.parametrize(
    "data",
    [
        _RECORD % (b'"a"', b"18446744073709551616", b"1.0", b"0"),  # a 65-bit seq
        _RECORD % (b'"a"', b"1", b"1" + b"0" * 30, b"0"),  # an integer reading past 64 bits
        _RECORD % (b'"a"', b"1", b"1" + b"0" * 400, b"0"),  # ... and past a float
        _RECORD % (b'"a"', b"1", b"1.0", b"18446744073709551616"),
        _RECORD % (b'"\\ud800"', b"1", b"1.0", b"0"),  # a lone surrogate
        _RECORD % (b'"a\\u0000"', b"1", b"1.0", b"0"),
        _RECORD % (b'"a"', b"-0", b"-0.0", b"null"),
        _RECORD % (b'"a"', b"1.0e0", b"1E5", b"0"),
        b"\xef\xbb\xbf" + _RECORD % (b'"a"', b"1", b"1.0", b"0"),  # a byte order mark
        _RECORD % (b'"a"', b"1", b"1.0", b"0") + b"  \n",
    ],
)
def test_both_decoders_agree_on_edge_cases_of_json(data: bytes) -> None:
    assert _outcome(decode_record, data) == _outcome(_decode_dict, data)


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        ({"v": 2}, "v", "bad_version"),
        ({"v": True}, "v", "bad_version"),
        ({"asset": 7}, "asset", "wrong_type"),
        ({"asset": ""}, "asset", "bad_name"),
        ({"asset": "a\nb"}, "asset", "bad_name"),
        ({"ts": 1.5}, "ts", "wrong_type"),
        ({"ts": -1}, "ts", "out_of_range"),
        ({"ts": True}, "ts", "wrong_type"),
        ({"seq": "3"}, "seq", "wrong_type"),
        ({"values": []}, "values", "wrong_type"),
        ({"values": {}}, "values", "out_of_range"),
        ({"values": {"t": "hot"}}, "values.t", "wrong_type"),
        ({"values": {"t": True}}, "values.t", "wrong_type"),
        ({"values": {"t": None}}, "values.t", "wrong_type"),
        ({"values": {"": 1.0}}, "values (channel name)", "bad_name"),
        ({"label": 2}, "label", "wrong_type"),
        ({"label": True}, "label", "wrong_type"),
        ({"source": None}, "source", "wrong_type"),
        ({"extra": 1}, "extra", "unknown_field"),
    ],
)
def test_violation_names_field_rule_and_value(
    change: dict[str, object], field: str, reason: str
) -> None:
    with pytest.raises(RecordError) as info:
        decode_record(orjson.dumps({**VALID, **change}))
    assert (info.value.field, info.value.reason) == (field, reason)
    assert repr(info.value.value)[:20] in str(info.value) or info.value.value is None
    assert isinstance(info.value, EdgewatchError)


@pytest.mark.parametrize("missing", ["v", "asset", "ts", "seq", "values", "source"])
def test_missing_required_field(missing: str) -> None:
    obj = {k: v for k, v in VALID.items() if k != missing}
    with pytest.raises(RecordError, match=f"field '{missing}' is required") as info:
        decode_record(orjson.dumps(obj))
    assert info.value.reason == "missing_field"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "not_json"),
        (b"{", "not_json"),
        (b'{"values": {"t": NaN}}', "not_json"),
        (b"\xff\xfe", "not_json"),
        (b"[1, 2]", "not_object"),
        (b'"text"', "not_object"),
        (b" " * (MAX_MESSAGE_BYTES + 1), "too_large"),
    ],
)
def test_unparseable_messages(data: bytes, reason: str) -> None:
    with pytest.raises(RecordError) as info:
        decode_record(data)
    assert info.value.reason == reason


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_values_rejected_at_construction(bad: float) -> None:
    with pytest.raises(RecordError, match="must be finite") as info:
        SensorRecord(asset="a", ts=0, seq=0, values={"t": bad}, source="s")
    assert info.value.field == "values.t"


@pytest.mark.parametrize("bad", [3.5e38, -1e300, 10**40, -(10**400)])
def test_values_beyond_float32_are_rejected_with_a_reason(bad: float) -> None:
    with pytest.raises(RecordError, match="float32") as info:
        SensorRecord(asset="a", ts=0, seq=0, values={"ok": 1.0, "t": bad}, source="s")
    assert (info.value.field, info.value.reason) == ("values.t", "out_of_range")


def test_many_large_values_each_within_float32_are_accepted() -> None:
    SensorRecord(asset="a", ts=0, seq=0, values={f"c{i}": 3e38 for i in range(4)}, source="s")


def test_wire_format_is_the_documented_one() -> None:
    record = SensorRecord(asset="a", ts=5, seq=1, values={"t": 0.5}, source="s", label=1)
    assert orjson.loads(encode_record(record)) == {
        "v": 1,
        "asset": "a",
        "ts": 5,
        "seq": 1,
        "values": {"t": 0.5},
        "label": 1,
        "source": "s",
    }


loose = st.one_of(
    st.floats(),
    st.integers(-(2**70), 2**70),
    st.booleans(),
    st.none(),
    st.text(max_size=3),
)


@given(
    asset=st.sampled_from(["pump-1", "", "a\nb"]) | st.integers(),
    ts=loose,
    seq=loose,
    values=st.dictionaries(st.sampled_from(["t", "p", "", "\x00"]), loose, max_size=3) | loose,
    label=loose,
)
def test_the_fast_check_accepts_only_what_the_field_checks_accept(
    asset: object, ts: object, seq: object, values: object, label: object
) -> None:
    SensorRecord("pump-1", 0, 0, {"t": 1.0, "p": 2.0}, "x")  # these names are known now
    try:
        record = SensorRecord(asset, ts, seq, values, "x", label)  # type: ignore[arg-type]
    except RecordError:
        return
    record._check()  # the field-by-field checks agree: no exception
