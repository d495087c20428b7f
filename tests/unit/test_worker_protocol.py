"""Decoding workers' frames (network_lib/worker_protocol.py `parse`): what is accepted, and
that every refusal names the problem."""
from __future__ import annotations

import pytest

from network_lib import worker_protocol as wp

HARDWARE = {"cpus": 32, "load": [0.5, 0.6, 0.5], "gpus": [{"index": 0, "name": "H100", "power_watts": 71.2}]}


def test_messages_round_trip_and_unknown_fields_are_ignored():
    msg = wp.Progress(request_id="ab" * 32, attempt=2, phase="proving", percent=40.0, cycles=None)
    assert wp.parse(msg.to_json().encode()) == msg
    assert wp.parse(b'{"type":"draining","from_a_later_minor":1}') == wp.Draining()
    assert wp.parse(' {"type":"heartbeat"} ') == wp.Heartbeat()


def test_a_heartbeat_read_by_the_hierophant_keeps_its_hardware_as_json():
    frame = wp.Heartbeat(jobs=[{"request_id": "ab", "attempt": 1}], hardware=HARDWARE).to_json().encode()
    msg = wp.parse(frame, raw_hardware=True)
    assert isinstance(msg, wp.HeartbeatIn) and msg.TYPE == "heartbeat"
    assert msg.jobs == [{"request_id": "ab", "attempt": 1}] and wp.hardware_object(msg.hardware) == HARDWARE
    assert wp.parse(frame).hardware == HARDWARE                   # everyone else gets the dict
    assert not wp.parse(b'{"type":"heartbeat"}', raw_hardware=True).hardware


@pytest.mark.parametrize("frame, problem", [
    (b"\xff", "frame is not UTF-8 text"),
    (b'{"type":"heartbeat","skipped":"\xc3\x28"}', "frame is not UTF-8 text"),
    (b"nope", "frame is not JSON"),
    (b'{"type":"heartbeat"} x', "frame is not JSON"),
    (b'{"type":"heartbeat","jobs":[],"x":NaN}', "frame is not JSON"),
    (b"[1, 2]", "frame is not a JSON object"),
    (b'{"no":"type"}', "unknown message type None"),
    (b'{"type":7}', "unknown message type 7"),
    (b'{"type":"teleport"}', "unknown message type 'teleport'"),
    (b'{"type":"progress","attempt":1}', "progress message: Object missing required field `request_id`"),
    (b'{"type":"progress","request_id":"a","attempt":true}', "Expected `int`, got `bool` - at `$.attempt`"),
    (b'{"type":"heartbeat","jobs":3}', "Expected `array`, got `int` - at `$.jobs`"),
    (b'{"type":"failed","request_id":"a","attempt":1,"kind":5,"message":""}', "at `$.kind`"),
    (b" " * (wp.MAX_FRAME_BYTES + 1), "exceeds"),
])
def test_refusals_name_the_problem(frame, problem):
    with pytest.raises(wp.ProtocolError, match=None) as e:
        wp.parse(frame)
    assert problem in str(e.value)


def test_a_heartbeat_whose_hardware_is_not_an_object_is_refused_either_way():
    for raw in (True, False):
        for bad in (b'{"type":"heartbeat","hardware":5}', b'{"type":"heartbeat","hardware":null}'):
            with pytest.raises(wp.ProtocolError, match="hardware"):
                wp.parse(bad, raw_hardware=raw)
