from __future__ import annotations

import io

from edgewatch.pipeline.outputs import JsonLinesSink


class _Counting(io.BytesIO):
    writes = 0

    def write(self, data: object) -> int:  # type: ignore[override]
        self.writes += 1
        return super().write(data)  # type: ignore[arg-type]


def test_json_lines_are_held_until_a_flush_and_written_in_one_call() -> None:
    stream = _Counting()
    sink = JsonLinesSink(stream)
    for i in range(5):
        sink.send("t", None, b'{"i":%d}' % i)
    assert stream.getvalue() == b""
    sink.flush()
    assert stream.writes == 1
    assert stream.getvalue().splitlines() == [b'{"i":%d}' % i for i in range(5)]
    sink.flush()  # nothing held: nothing written
    assert stream.writes == 1


def test_a_long_stretch_is_written_without_waiting_for_the_flush() -> None:
    stream = _Counting()
    sink = JsonLinesSink(stream)
    for i in range(JsonLinesSink.HOLD + 1):
        sink.send("t", None, b"%d" % i)
    assert stream.writes == 1
    sink.close()
    assert len(stream.getvalue().splitlines()) == JsonLinesSink.HOLD + 1
