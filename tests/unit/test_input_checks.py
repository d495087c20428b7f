"""Input checks at the edge (issue 8): SP1Stdin files and the two vk_hash forms."""
from __future__ import annotations

import struct

import pytest

from network_lib import vkhash
from network_lib.bincode import SP1Stdin, sp1stdin_file_problem


def _problem(tmp_path, data: bytes):
    path = tmp_path / "stdin.bin"
    path.write_bytes(data)
    return sp1stdin_file_problem(path)


def test_real_stdins_pass(tmp_path):
    assert _problem(tmp_path, SP1Stdin().encode()) is None                       # 24 zero bytes
    assert _problem(tmp_path, SP1Stdin([struct.pack("<I", 1000)]).encode()) is None
    assert _problem(tmp_path, SP1Stdin([b"a" * 5000, b""], proofs_raw=(1).to_bytes(8, "little") + b"p").encode()) \
        is None                                                                  # opaque deferred proofs


@pytest.mark.parametrize("data,words", [
    (b"", "before the buffer count"),
    (bytes(23), "before the deferred-proof count"),
    (bytes(24) + b"x", "1 bytes follow"),
    ((1).to_bytes(8, "little") + (99).to_bytes(8, "little") + b"abc", "buffer 0 of 99 bytes runs past"),
    ((1 << 40).to_bytes(8, "little") + bytes(16), "announces 1099511627776 buffers"),
    (bytes(16) + (2).to_bytes(8, "little"), "announces 2 deferred proofs but none follow"),
])
def test_what_is_wrong_is_named(tmp_path, data, words):
    assert words in _problem(tmp_path, data)


def test_vk_hash_forms():
    words = b"".join(struct.pack(">I", (1 << 31) - 1) for _ in range(8))
    assert vkhash.problem(words) is None and vkhash.is_word_form(words)
    assert not vkhash.is_bn254_form(words)                    # word form may exceed r: still fine
    element = (vkhash.BN254_R - 1).to_bytes(32, "big")
    assert vkhash.problem(element) is None and not vkhash.is_word_form(element)
    neither = vkhash.BN254_R.to_bytes(32, "big")              # r itself: not an element, a word >= 2^31
    assert "neither form" in vkhash.problem(neither) and "2^31" in vkhash.problem(neither)
    assert "32 bytes" in vkhash.problem(b"\x01" * 31)
