"""sp1-gpu-server wire format: the test vectors of prover-backends.md §1.8, and replies (§1.5)."""
from __future__ import annotations

import hashlib
import struct

import pytest

from contemplant.backends.sp1_gpu import wire
from network_lib.bincode import SP1Stdin

EMPTY_STDIN = bytes(24)      # §3.1: three u64 zeros


def test_destroy_vector():
    framed = wire.frame(wire.destroy_request(hashlib.sha256(b"").digest()))
    assert framed.hex() == ("24000000" "02000000"
                            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")


def test_setup_vector():
    framed = wire.frame(wire.setup_request(bytes.fromhex("7f454c46")))
    assert framed.hex() == "10000000" "00000000" "0400000000000000" "7f454c46"


def test_prove_with_mode_vector():
    key = wire.program_key(bytes.fromhex("7f454c46"))
    framed = wire.frame(wire.prove_request(2, key, EMPTY_STDIN))
    assert len(framed) == 84
    assert framed.hex() == ("50000000" "01000000" "02000000"
                            "3bdbb4fe8397cd2b842430b39ccff01a8663c751945ef5e9a09e267fb8b1d359"
                            + "00" * 24 + "00" * 16)


def test_stdin_vector_is_spliced_verbatim_and_nonce_follows():
    stdin = SP1Stdin([struct.pack("<I", 1000)]).encode()
    assert stdin.hex() == "0100000000000000" "0400000000000000" "e8030000" + "00" * 16
    payload = wire.prove_request(4, bytes(32), stdin, (1, 2, 3, 0xFFFFFFFF))
    assert payload[:8] == bytes.fromhex("01000000" "04000000")          # §1.6: Groth16 = 4
    assert payload[40:-16] == stdin
    assert payload[-16:] == struct.pack("<4I", 1, 2, 3, 0xFFFFFFFF)


@pytest.mark.parametrize("bad", [dict(mode=0), dict(mode=5), dict(key=bytes(31)), dict(nonce=(0, 0))])
def test_prove_request_refuses_bad_arguments(bad):
    args = dict(mode=1, key=bytes(32), stdin=EMPTY_STDIN, nonce=(0, 0, 0, 0)) | bad
    with pytest.raises(ValueError):
        wire.prove_request(**args)


def test_decode_each_response_variant():
    key, vk = bytes(range(32)), bytes(104)
    setup = wire.decode_response(wire.encode_response(wire.RESP_SETUP, key + vk))
    assert (setup.name, setup.setup_id, setup.vk) == ("Setup", key, vk)
    assert wire.decode_response(wire.encode_response(wire.RESP_OK)).name == "Ok"
    proof = wire.decode_response(bytes.fromhex("02000000") + b"\x01\0\0\0rest")
    assert proof.body == b"\x01\0\0\0rest"                               # payload[4:], unchanged
    for kind, name in ((3, "ProverError"), (4, "InternalError")):
        r = wire.decode_response(wire.encode_response(kind, wire.string_body("boom ✓")))
        assert (r.name, r.message) == (name, "boom ✓")
    assert wire.decode_response(struct.pack("<I", 5)).name == "ConnectionClosed"


@pytest.mark.parametrize("payload", [
    b"", b"\x02\0\0", struct.pack("<I", 6), struct.pack("<I", 1) + bytes(32),
    struct.pack("<I", 2) + b"\x01", struct.pack("<I", 3) + struct.pack("<Q", 9) + b"short",
    struct.pack("<I", 4) + struct.pack("<Q", 2) + b"\xff\xfe",
])
def test_malformed_responses_are_refused(payload):
    with pytest.raises(wire.MalformedResponse):
        wire.decode_response(payload)
