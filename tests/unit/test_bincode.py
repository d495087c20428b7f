import struct

import pytest

from network_lib import bincode
from network_lib.bincode import (
    BincodeError,
    ProofFormatError,
    PublicValuesMismatch,
    Reader,
    SP1Stdin,
    Writer,
)
from network_lib.versions import ProofMode


def u64(n):
    return struct.pack("<Q", n)


def s(text):
    return u64(len(text)) + text.encode()


# --- primitives ---------------------------------------------------------------------------


def test_writer_primitives_are_little_endian_fixed_width():
    w = Writer().u8(7).u32(0x01020304).u64(5).bytes(b"ab").string("é").raw(b"\xff")
    w.option(None, Writer.u32).option(9, Writer.u32)
    assert w.getvalue() == (
        b"\x07" + b"\x04\x03\x02\x01" + u64(5) + u64(2) + b"ab" + u64(2) + "é".encode()
        + b"\xff" + b"\x00" + b"\x01\x09\x00\x00\x00"
    )


@pytest.mark.parametrize("meth, v", [("u8", 256), ("u32", 1 << 32), ("u64", 1 << 64), ("u64", -1)])
def test_writer_range_checks(meth, v):
    with pytest.raises(BincodeError):
        getattr(Writer(), meth)(v)


def test_reader_round_trip():
    data = Writer().u8(1).u32(2).u64(3).bytes(b"xyz").string("hi").option(4, Writer.u64).getvalue()
    r = Reader(data)
    assert (r.u8(), r.u32(), r.u64(), r.bytes(), r.string(), r.option(Reader.u64)) == (
        1, 2, 3, b"xyz", "hi", 4,
    )
    assert r.at_end()
    r.expect_end()


def test_reader_truncation_names_what():
    with pytest.raises(BincodeError, match="truncated buffer count: need 8 bytes at offset 0, only 3 left"):
        Reader(b"abc").u64("buffer count")
    with pytest.raises(BincodeError, match="truncated payload: length 100 at offset 0"):
        Reader(u64(100) + b"x").bytes("payload")


def test_reader_rejects_bad_utf8_bad_option_flag_and_trailing():
    with pytest.raises(BincodeError, match="not valid UTF-8"):
        Reader(u64(1) + b"\xff").string("name")
    with pytest.raises(BincodeError, match="invalid maybe flag 2"):
        Reader(b"\x02").option(Reader.u8, "maybe")
    r = Reader(b"\x00\x01")
    r.u8()
    with pytest.raises(BincodeError, match="1 trailing bytes"):
        r.expect_end()


# --- SP1Stdin (prover-backends.md §1.8, §3.1) -------------------------------------------


def test_stdin_vector_one_u32_write():
    data = bytes.fromhex(
        "0100000000000000" "0400000000000000" "e8030000" "0000000000000000" "0000000000000000"
    )
    stdin = SP1Stdin.decode(data)
    assert stdin == SP1Stdin(buffers=[struct.pack("<I", 1000)], ptr=0, proofs_raw=bytes(8))
    assert stdin.proof_count == 0
    assert stdin.encode() == data


def test_empty_stdin_is_24_zero_bytes():
    assert SP1Stdin().encode() == bytes(24)
    assert SP1Stdin.decode(bytes(24)) == SP1Stdin()


def test_stdin_with_proofs_keeps_them_opaque():
    proofs = u64(2) + b"opaque proof and vk bytes"
    data = u64(2) + s("a") + s("") + u64(3) + proofs
    stdin = SP1Stdin.decode(data)
    assert stdin.buffers == [b"a", b""]
    assert stdin.ptr == 3
    assert stdin.proofs_raw == proofs
    assert stdin.proof_count == 2
    assert stdin.encode() == data


def test_stdin_truncated_and_trailing():
    with pytest.raises(BincodeError, match="SP1Stdin buffer 1"):
        SP1Stdin.decode(u64(2) + s("a") + u64(5) + b"ab")
    with pytest.raises(BincodeError, match="SP1Stdin proof count"):
        SP1Stdin.decode(u64(0) + u64(0))
    with pytest.raises(BincodeError, match="trailing bytes after SP1Stdin"):
        SP1Stdin.decode(bytes(24) + b"\x00")
    with pytest.raises(BincodeError):
        SP1Stdin(proofs_raw=b"").encode()


# --- ELF artifact ---------------------------------------------------------------------------


def test_elf_artifact_round_trip_and_strictness():
    elf = b"\x7fELF" + bytes(range(50))
    art = bincode.encode_elf_artifact(elf)
    assert art == u64(len(elf)) + elf
    assert bincode.decode_elf_artifact(art) == elf
    with pytest.raises(BincodeError, match="trailing"):
        bincode.decode_elf_artifact(art + b"\x00")
    with pytest.raises(BincodeError, match="truncated ELF"):
        bincode.decode_elf_artifact(art[:-1])
    with pytest.raises(BincodeError):
        bincode.decode_elf_artifact(b"\x01")


# --- ProofFromNetwork -----------------------------------------------------------------------

# sdk-network-contract.md §4.6 fixtures.
PLONK_V6 = bytes.fromhex(
    "02000000" + "010000000000000030" * 5 + "0000000000000000" * 2 + "00" * 32
    + "0000000000000000" + "0600000000000000" + "76362e312e30"
)
PLONK_V5 = bytes.fromhex(
    "02000000" + "010000000000000030" * 2 + "0000000000000000" * 2 + "00" * 32
    + "0000000000000000" + "0600000000000000" + "76352e302e30"
)


def test_plonk_fixtures_parse():
    assert len(PLONK_V6) == 119 and len(PLONK_V5) == 92
    info = bincode.inspect_proof(PLONK_V6, mode=ProofMode.PLONK, circuit_version="v6.1.0")
    assert info == bincode.ProofInfo(2, b"", "v6.1.0", ("0",) * 5)
    info = bincode.inspect_proof(PLONK_V5, mode=3, circuit_version="v5.0.0", expected_public_values=b"")
    assert info == bincode.ProofInfo(2, b"", "v5.0.0", ("0", "0"))


def test_encode_proof_from_network_builds_fixture():
    proof = PLONK_V6[: -(8 + 8 + 6)]
    assert bincode.encode_proof_from_network(proof, b"", "v6.1.0") == PLONK_V6
    with pytest.raises(BincodeError):
        bincode.encode_proof_from_network(b"\x00", b"", "v6.1.0")


def test_plonk_wrong_tag_mode_and_version():
    with pytest.raises(ProofFormatError, match="tag 2 does not match mode GROTH16"):
        bincode.inspect_proof(PLONK_V6, mode=ProofMode.GROTH16, circuit_version="v6.1.0")
    with pytest.raises(ProofFormatError, match="sp1_version is 'v6.1.0', expected 'v6.0.0'"):
        bincode.inspect_proof(PLONK_V6, mode=3, circuit_version="v6.0.0")
    # A v5 proof read as v6 fails to parse (wrong number of public inputs).
    with pytest.raises(ProofFormatError):
        bincode.inspect_proof(PLONK_V5, mode=3, circuit_version="v6.1.0")


def test_groth16_tag_accepted():
    groth = b"\x03" + PLONK_V6[1:]
    info = bincode.inspect_proof(groth, mode=ProofMode.GROTH16, circuit_version="v6.1.0")
    assert info.tag == 3


def test_plonk_trailing_truncated_and_pv_mismatch():
    with pytest.raises(ProofFormatError, match="1 trailing bytes"):
        bincode.inspect_proof(PLONK_V6 + b"\x00", mode=3, circuit_version="v6.1.0")
    with pytest.raises(ProofFormatError, match="truncated"):
        bincode.inspect_proof(PLONK_V6[:-1], mode=3, circuit_version="v6.1.0")
    with pytest.raises(ProofFormatError, match="truncated SP1Proof tag"):
        bincode.inspect_proof(b"\x02\x00", mode=3, circuit_version="v6.1.0")
    with pytest.raises(PublicValuesMismatch):
        bincode.inspect_proof(PLONK_V6, mode=3, circuit_version="v6.1.0", expected_public_values=b"x")


def _opaque_proof(tag, middle, pv, version):
    return bincode.encode_proof_from_network(struct.pack("<I", tag) + middle, pv, version)


def test_core_compressed_with_expected_pv():
    pv = bytes.fromhex("e80300004d170000430e0000")
    middle = u64(1) + b"\x00\x05" * 50  # one opaque shard
    data = _opaque_proof(0, middle, pv, "v6.1.0")
    info = bincode.inspect_proof(data, mode=1, circuit_version="v6.1.0", expected_public_values=pv)
    assert info == bincode.ProofInfo(0, pv, "v6.1.0")
    with pytest.raises(PublicValuesMismatch):
        bincode.inspect_proof(data, mode=1, circuit_version="v6.1.0", expected_public_values=b"\x01" + pv[1:])
    with pytest.raises(ProofFormatError, match="no public values length prefix"):
        bincode.inspect_proof(data, mode=1, circuit_version="v6.1.0", expected_public_values=pv[:-1])
    comp = _opaque_proof(1, b"\x07" * 300, pv, "v5.0.0")
    info = bincode.inspect_proof(comp, mode=2, circuit_version="v5.0.0", expected_public_values=pv)
    assert info.public_values == pv and info.tag == 1


def test_core_compressed_without_expected_pv_gives_none():
    pv = b"\x01\x02"
    data = _opaque_proof(0, u64(3) + b"shards", pv, "v6.0.0")
    info = bincode.inspect_proof(data, mode=ProofMode.CORE, circuit_version="v6.0.0")
    assert info == bincode.ProofInfo(0, None, "v6.0.0")
    comp = _opaque_proof(1, b"\x09" * 20, pv, "v6.0.0")
    assert bincode.inspect_proof(comp, mode=2, circuit_version="v6.0.0").public_values is None


def test_empty_core_is_parsed_fully():
    pv = b"\xaa\xbb"
    data = _opaque_proof(0, u64(0), pv, "v6.1.0")
    assert bincode.inspect_proof(data, mode=1, circuit_version="v6.1.0").public_values == pv
    # An empty Core proof with junk between shards and pv is malformed.
    bad = _opaque_proof(0, u64(0) + b"junk", pv, "v6.1.0")
    with pytest.raises(ProofFormatError):
        bincode.inspect_proof(bad, mode=1, circuit_version="v6.1.0")
    with pytest.raises(PublicValuesMismatch):
        bincode.inspect_proof(data, mode=1, circuit_version="v6.1.0", expected_public_values=b"")


def test_core_compressed_version_and_tag_checks():
    data = _opaque_proof(1, b"\x01" * 40, b"", "v5.0.0")
    with pytest.raises(ProofFormatError, match="sp1_version is 'v5.0.0', expected 'v6.1.0'"):
        bincode.inspect_proof(data, mode=2, circuit_version="v6.1.0")
    with pytest.raises(ProofFormatError, match="does not end with sp1_version"):
        bincode.inspect_proof(data[:-1] + b"X", mode=2, circuit_version="v5.0.0")
    with pytest.raises(ProofFormatError, match="tag 1 does not match mode CORE"):
        bincode.inspect_proof(data, mode=1, circuit_version="v5.0.0")
    with pytest.raises(ProofFormatError, match="too short"):
        bincode.inspect_proof(_opaque_proof(0, b"\x01", b"", "v6.1.0"), mode=1, circuit_version="v6.1.0")
    with pytest.raises(ProofFormatError, match="too short"):
        bincode.inspect_proof(_opaque_proof(1, b"", b"ab", "v6.1.0"), mode=2,
                              circuit_version="v6.1.0", expected_public_values=b"ab")


def test_inspect_rejects_unknown_circuit_and_mode():
    with pytest.raises(ValueError, match="'v6.2.0'"):
        bincode.inspect_proof(PLONK_V6, mode=3, circuit_version="v6.2.0")
    with pytest.raises(ValueError):
        bincode.inspect_proof(PLONK_V6, mode=0, circuit_version="v6.1.0")
