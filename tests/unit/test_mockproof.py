import struct

import pytest

from network_lib import bincode, mockproof
from network_lib.mockproof import MockProofError
from network_lib.versions import ProofMode

# prover-backends.md §4.5: sp1-cluster fibonacci (n=1000) public values.
FIB_PV = bytes.fromhex("e80300004d170000430e0000")
FIB_PV_HASH = 5148033551096382357583541959834117535629272698563624648817151667654659613065
# Hypothetical vk words 1..8 as the network vk_hash (8 BE u32).
VK_WORDS_1_8 = b"".join(struct.pack(">I", w) for w in range(1, 9))
R_1_8 = 210624583533273802763685607822052024474377436836377342220370444296
V6_STR_1_8 = "FFBn254Fr(0x0000000002000000080000001800000040000000a00000018000000380000008)"


def u64(n):
    return struct.pack("<Q", n)


def bstr(text):
    return u64(len(text)) + text.encode()


# --- §4.3 hashes ------------------------------------------------------------------------


def test_pv_hash_vectors():
    sp1_vector = bytes.fromhex("1234567890abcdef" * 8)
    assert mockproof.pv_hash_bn254(sp1_vector) == int(
        "1ce987d0a7fcc2636fe87e69295ba12b1cc46c256b369ae7401c51b805ee91bd", 16
    )
    assert mockproof.pv_hash_bn254(b"") == (
        1669258166902426033910600439979403418188664065762541458854010994191676651605
    )
    assert mockproof.pv_hash_bn254(FIB_PV) == FIB_PV_HASH


def test_pv_hash_masks_top_three_bits():
    # Every hash must be < 2^253, whatever sha256 gives.
    assert all(mockproof.pv_hash_bn254(bytes([i])) < 1 << 253 for i in range(64))


def test_vk_hash_bn254_and_strings():
    assert mockproof.vk_hash_bn254(VK_WORDS_1_8) == R_1_8
    v6 = mockproof.vk_hash_string(VK_WORDS_1_8, "v6.1.0")
    assert v6 == V6_STR_1_8 and len(v6) == 77
    assert mockproof.vk_hash_string(VK_WORDS_1_8, "v6.0.0") == V6_STR_1_8
    v5 = mockproof.vk_hash_string(VK_WORDS_1_8, "v5.0.0")
    assert v5 == str(R_1_8) and len(v5) == 66


def test_vk_hash_must_be_word_form():
    with pytest.raises(MockProofError, match="32 bytes"):
        mockproof.vk_hash_bn254(bytes(31))
    # A BN254-reduced digest (SDK 5.0.0-5.0.5) has words >= 2^31.
    with pytest.raises(MockProofError, match="word form"):
        mockproof.vk_hash_bn254(b"\x00" + b"\xff" * 31)


def test_public_inputs():
    assert mockproof.mock_public_inputs(VK_WORDS_1_8, FIB_PV, "v6.1.0") == [
        V6_STR_1_8, str(FIB_PV_HASH), "0", "0", "0",
    ]
    assert mockproof.mock_public_inputs(VK_WORDS_1_8, FIB_PV, "v5.0.0") == [
        str(R_1_8), str(FIB_PV_HASH),
    ]


# --- §4.5 whole proofs ------------------------------------------------------------------


def test_v6_core_vector_46_bytes():
    expected = bytes.fromhex(
        "00000000" "0000000000000000" "0c00000000000000" "e80300004d170000430e0000"
        "0600000000000000" "76362e312e30"
    )
    got = mockproof.mock_proof(ProofMode.CORE, "v6.1.0", None, FIB_PV)
    assert got == expected and len(got) == 46
    info = bincode.inspect_proof(got, mode=ProofMode.CORE, circuit_version="v6.1.0")
    assert info.public_values == FIB_PV


def test_v5_core():
    got = mockproof.mock_proof(1, "v5.0.0", VK_WORDS_1_8, FIB_PV)
    assert got == bytes(12) + u64(12) + FIB_PV + bstr("v5.0.0")


def _expected_snark(tag, inputs, pv, version):
    body = struct.pack("<I", tag) + b"".join(bstr(s) for s in inputs)
    return body + u64(0) + u64(0) + bytes(32) + u64(len(pv)) + pv + bstr(version)


@pytest.mark.parametrize("mode, tag", [(ProofMode.PLONK, 2), (ProofMode.GROTH16, 3)])
def test_v6_snark_282_bytes(mode, tag):
    got = mockproof.mock_proof(mode, "v6.1.0", VK_WORDS_1_8, FIB_PV)
    assert len(got) == 282
    assert got == _expected_snark(tag, [V6_STR_1_8, str(FIB_PV_HASH), "0", "0", "0"], FIB_PV, "v6.1.0")
    info = bincode.inspect_proof(got, mode=mode, circuit_version="v6.1.0", expected_public_values=FIB_PV)
    assert info.public_inputs[0] == V6_STR_1_8


@pytest.mark.parametrize("mode, tag", [(ProofMode.PLONK, 2), (ProofMode.GROTH16, 3)])
def test_v5_snark_244_bytes(mode, tag):
    got = mockproof.mock_proof(mode, "v5.0.0", VK_WORDS_1_8, FIB_PV)
    assert len(got) == 244
    assert got == _expected_snark(tag, [str(R_1_8), str(FIB_PV_HASH)], FIB_PV, "v5.0.0")
    assert bincode.inspect_proof(got, mode=mode, circuit_version="v5.0.0").public_values == FIB_PV


def test_snark_needs_vk_hash():
    with pytest.raises(MockProofError, match="needs the vk_hash"):
        mockproof.mock_proof(ProofMode.PLONK, "v6.1.0", None, FIB_PV)


# --- §4.6a v6 Compressed ----------------------------------------------------------------

VK104 = bytes(range(104))


def _v6_compressed_expected(vk):
    # Written out from the §4.6a table, offset by offset (104-byte vk).
    ext0 = bytes(16)
    mle = u64(1) + ext0 + u64(1) + u64(1)
    sumcheck = u64(0) + ext0 + u64(0) + ext0
    parts = [
        (0, b"\x01\x00\x00\x00"), (4, vk), (108, u64(0)), (116, bytes(32)), (148, mle), (188, mle),
        (228, u64(0)), (236, u64(1) + ext0), (260, u64(0)), (268, bytes(4)), (272, sumcheck),
        (320, u64(0)), (328, u64(0) * 4), (360, ext0), (376, bytes(8)), (384, u64(0)),
        (392, sumcheck), (440, sumcheck), (488, u64(0) + u64(0)), (504, ext0),
        (520, u64(1) + u64(1)), (536, u64(0) + u64(0)),
    ]
    out = b""
    for off, chunk in parts:
        assert len(out) == off, off
        out += chunk
    assert len(out) == 552
    return out


def test_v6_compressed_layout_552():
    proof = mockproof.v6_compressed_proof(VK104)
    assert proof == _v6_compressed_expected(VK104)
    # Spot checks against the table's offsets.
    assert proof[4:108] == VK104
    assert proof[148:156] == u64(1) and proof[172:188] == u64(1) + u64(1)
    assert proof[236:244] == u64(1)
    assert proof[520:536] == u64(1) + u64(1)
    full = mockproof.mock_proof(ProofMode.COMPRESSED, "v6.1.0", None, FIB_PV, vk=VK104)
    assert full == proof + u64(12) + FIB_PV + bstr("v6.1.0")
    info = bincode.inspect_proof(full, mode=2, circuit_version="v6.1.0", expected_public_values=FIB_PV)
    assert info.tag == 1


def test_v6_compressed_mprotect_vk_shifts_layout():
    vk168 = bytes(168)
    proof = mockproof.v6_compressed_proof(vk168)
    assert len(proof) == 552 + 64
    assert proof[4:172] == vk168
    assert proof[172:] == _v6_compressed_expected(VK104)[108:]


def test_v6_compressed_rejects_unusable_vk():
    with pytest.raises(MockProofError, match="needs the program's vk"):
        mockproof.mock_proof(ProofMode.COMPRESSED, "v6.0.0", None, FIB_PV, vk=None)
    with pytest.raises(MockProofError, match="got 200"):
        mockproof.v6_compressed_proof(bytes(200))
    bad = bytearray(VK104)
    bad[8:12] = struct.pack("<I", 0x7F000001)  # KoalaBear p: not canonical
    with pytest.raises(MockProofError, match="word 2 .* not a canonical KoalaBear"):
        mockproof.v6_compressed_proof(bytes(bad))


# --- §4.6b v5 Compressed ----------------------------------------------------------------


def test_v5_compressed_layout_276():
    proof = mockproof.v5_compressed_proof()
    assert len(proof) == 276
    assert proof[0:4] == b"\x01\x00\x00\x00"
    assert proof[4:36] == bytes(32)  # vk.commit
    assert proof[36:40] == bytes(4)  # pc_start
    xy = struct.unpack("<14I", proof[40:96])
    assert xy[:7] == (0x1434213, 0x5623730, 0x9504880, 0x1688724, 0x2096980, 0x7856967, 0x1875376)
    assert xy[7:] == (885797405, 1130275556, 567836311, 52700240, 239639200, 442612155, 1839439733)
    assert proof[96:112] == bytes(16)  # chip_information, chip_ordering
    assert proof[112:208] == bytes(96)  # three commitments
    assert proof[208:216] == bytes(8)  # opened_values.chips
    assert proof[216:252] == bytes(36)  # fri: 2 vecs, final_poly, pow_witness
    assert proof[252:276] == bytes(24)  # query_openings, chip_ordering, public_values
    # Program-independent: vk and vk_hash are ignored.
    full = mockproof.mock_proof(2, "v5.0.0", VK_WORDS_1_8, FIB_PV, vk=b"anything")
    assert full == proof + u64(12) + FIB_PV + bstr("v5.0.0")


def test_unknown_circuit_version():
    with pytest.raises(ValueError, match="'v6.2.0'"):
        mockproof.mock_proof(1, "v6.2.0", None, b"")


# --- sdk-network-contract.md §4.6 fixtures are consistent with these rules ------------------


def test_contract_plonk_fixtures():
    v6 = bytes.fromhex(
        "02000000" + "010000000000000030" * 5 + "0000000000000000" * 2 + "00" * 32
        + "0000000000000000" + "0600000000000000" + "76362e312e30"
    )
    v5 = bytes.fromhex(
        "02000000" + "010000000000000030" * 2 + "0000000000000000" * 2 + "00" * 32
        + "0000000000000000" + "0600000000000000" + "76352e302e30"
    )
    assert len(v6) == 119 and len(v5) == 92
    assert v6 == _expected_snark(2, ["0"] * 5, b"", "v6.1.0")
    assert v5 == _expected_snark(2, ["0"] * 2, b"", "v5.0.0")
