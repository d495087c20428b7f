"""sdk-network-contract.md §3.4 test vectors; eth-account / eth_keys as the independent check."""

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_keys import keys

from network_lib import signing
from network_lib.signing import SECP256K1_N, SignatureError, VStyle

KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
PUBKEY = bytes.fromhex(
    "8318535b54105d4a7aae60c08fc45f9687181b4fdfc625bd1a753fa7397fed75"
    "3547f11ca8696646f2f3acb08e31016afac23e630c5d11f59f61fef57b0d2aa5"
)
ADDRESS = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
ADDRESS_RAW = bytes.fromhex("f39fd6e51aad88f6f4ce6ab8827279cfffb92266")

TV2_R = bytes.fromhex("53bdc4005c15f103cba321d6202b25825b635216be736ee7fbc431b3f44e4b4a")
TV2_S = bytes.fromhex("2a992d7f4ad12e3caf55595ae99e826524957e08506285d9d83c9e1e51bbb846")
TV2_HASH = bytes.fromhex("70f518d3034cb94ffbe469de194d4382d4055de854126ef9aad036d5032c6c2c")
TV2_WRONG = "0xc22D393A0ec312F922E021AfCd351cc361b1019e"

TV3_BODY = bytes.fromhex(
    "0807122011111111111111111111111111111111111111111111111111111111111111111a0a7370312d76"
    "362e312e30200228013233687474703a2f2f3132372e302e302e313a383038312f6172746966616374732f"
    "737464696e2f61727469666163745f746573743880a4a7da064080c2d72f488094ebdc03"
)
TV3_HASH = bytes.fromhex("f30886a622f07217b8b80a662cb67fb8f0fc516ba05188e268d5d95570d35f07")
TV3_R = bytes.fromhex("e7f567c3899ce0f5169f9e1563a6f452b74ba7f726102672950dc8003a8d96e1")
TV3_S = bytes.fromhex("082d08a62fd9f171153b1450e9ab2b4a70a5af59a59cf0e4d6b98001c1a8ce8e")


# --- TV1 ------------------------------------------------------------------------------------


def test_tv1_key_and_address():
    assert signing.private_key_to_address(KEY) == ADDRESS_RAW
    assert signing.private_key_to_address(bytes.fromhex(KEY[2:])) == ADDRESS_RAW
    assert signing.public_key_to_address(PUBKEY) == ADDRESS_RAW
    assert signing.address_hex(ADDRESS_RAW) == ADDRESS
    assert Account.from_key(KEY).address == ADDRESS  # independent


def test_address_hex_checksum_matches_eth_utils():
    from eth_utils import to_checksum_address

    for i in range(20):
        addr = signing.keccak256(bytes([i]))[:20]
        assert signing.address_hex(addr) == to_checksum_address(addr)
    with pytest.raises(ValueError):
        signing.address_hex(bytes(19))


def test_parse_address():
    assert signing.parse_address(ADDRESS) == ADDRESS_RAW
    assert signing.parse_address(ADDRESS_RAW.hex()) == ADDRESS_RAW
    with pytest.raises(ValueError):
        signing.parse_address("0x1234")
    with pytest.raises(ValueError):
        signing.parse_address("0xzz" + "00" * 19)


# --- TV2 ------------------------------------------------------------------------------------


def test_tv2_eip191_preimage_and_hash():
    assert signing.eip191_hash(b"create_artifact") == TV2_HASH
    preimage = bytes.fromhex(
        "19457468657265756d205369676e6564204d6573736167653a0a3135" "6372656174655f6172746966616374"
    )
    assert signing.keccak256(preimage) == TV2_HASH


@pytest.mark.parametrize("v", [0x1C, 0x37, 0x01])
def test_tv2_all_wire_forms_recover_tv1(v):
    sig = TV2_R + TV2_S + bytes([v])
    assert signing.recover_signer(b"create_artifact", sig) == ADDRESS_RAW
    assert signing.recover_public_key(b"create_artifact", sig) == PUBKEY


@pytest.mark.parametrize("style, v", [(VStyle.ETHEREUM, 0x1C), (VStyle.DOUBLE, 0x37), (VStyle.PARITY, 1)])
def test_tv2_sign_is_deterministic_and_byte_exact(style, v):
    assert signing.sign(b"create_artifact", KEY, style) == TV2_R + TV2_S + bytes([v])


def test_tv2_raw_v55_misread_by_eth_account():
    # Feeding the 6.x wire bytes (v=55) to eth-account unnormalised recovers a stranger:
    # normalisation is what makes TV2 work.
    msg = encode_defunct(primitive=b"create_artifact")
    wrong = Account.recover_message(msg, signature=TV2_R + TV2_S + b"\x37")
    assert wrong == TV2_WRONG
    assert Account.recover_message(msg, signature=TV2_R + TV2_S + b"\x1c") == ADDRESS
    assert signing.address_hex(signing.recover_signer(b"create_artifact", TV2_R + TV2_S + b"\x37")) == ADDRESS


# --- TV3 ------------------------------------------------------------------------------------


def test_tv3_body_hash_and_signature():
    assert len(TV3_BODY) == 122
    assert signing.eip191_hash(TV3_BODY) == TV3_HASH
    sig = signing.sign(TV3_BODY, KEY, VStyle.ETHEREUM)
    assert sig == TV3_R + TV3_S + b"\x1b"  # parity 0
    assert signing.sign(TV3_BODY, KEY, VStyle.PARITY) == TV3_R + TV3_S + b"\x00"
    assert signing.recover_signer(TV3_BODY, sig) == ADDRESS_RAW
    # Independent: eth_keys with (parity, r, s) over the prehash.
    ek = keys.Signature(vrs=(0, int.from_bytes(TV3_R, "big"), int.from_bytes(TV3_S, "big")))
    assert ek.recover_public_key_from_msg_hash(TV3_HASH).to_checksum_address() == ADDRESS


# --- normalize_v and rejections -------------------------------------------------------------


@pytest.mark.parametrize("v, parity", [(0, 0), (1, 1), (27, 0), (28, 1), (54, 0), (55, 1)])
def test_normalize_v(v, parity):
    assert signing.normalize_v(v) == parity


@pytest.mark.parametrize("v", [2, 26, 29, 35, 36, 37, 38, 53, 56, 255])
def test_normalize_v_rejects(v):
    with pytest.raises(SignatureError, match=f"invalid signature v byte {v}"):
        signing.normalize_v(v)


@pytest.mark.parametrize("length", [0, 64, 66])
def test_recover_rejects_wrong_length(length):
    with pytest.raises(SignatureError, match="65 bytes"):
        signing.recover_signer(b"m", bytes(length))


def test_recover_rejects_bad_v():
    with pytest.raises(SignatureError, match="v byte 29"):
        signing.recover_signer(b"create_artifact", TV2_R + TV2_S + b"\x1d")


@pytest.mark.parametrize(
    "r, s, what",
    [
        (0, 1, "r"),
        (SECP256K1_N, 1, "r"),
        (1, 0, "s"),
        (1, SECP256K1_N, "s"),
        ((1 << 256) - 1, 1, "r"),
    ],
)
def test_recover_rejects_out_of_range(r, s, what):
    sig = r.to_bytes(32, "big") + s.to_bytes(32, "big") + b"\x1b"
    with pytest.raises(SignatureError, match=f"{what} is out of range"):
        signing.recover_signer(b"m", sig)


def test_recover_rejects_unrecoverable():
    # r = 5 is not the x-coordinate of any curve point (x^3 + 7 is a non-residue).
    sig = (5).to_bytes(32, "big") + TV2_S + b"\x1b"
    with pytest.raises(SignatureError, match="cannot recover"):
        signing.recover_signer(b"m", sig)


def test_high_s_accepted_and_recovers_same_signer():
    high_s = (SECP256K1_N - int.from_bytes(TV2_S, "big")).to_bytes(32, "big")
    # (r, n - s) with the flipped parity (1 -> 0) is the same signer.
    assert signing.recover_signer(b"create_artifact", TV2_R + high_s + b"\x1b") == ADDRESS_RAW
    assert signing.recover_signer(b"create_artifact", TV2_R + high_s + b"\x36") == ADDRESS_RAW


def test_tampered_message_recovers_other_address():
    sig = signing.sign(b"create_artifact", KEY, VStyle.DOUBLE)
    assert signing.recover_signer(b"create_artifacT", sig) != ADDRESS_RAW


def test_sign_rejects_bad_keys_and_styles():
    for bad in (bytes(32), b"\x01" * 31, "0xnothex", SECP256K1_N.to_bytes(32, "big")):
        with pytest.raises(SignatureError):
            signing.sign(b"m", bad)
    with pytest.raises(ValueError):
        signing.sign(b"m", KEY, 28)


def test_sign_matches_eth_account_for_random_messages():
    acct = Account.from_key(KEY)
    for i in range(10):
        msg = bytes(range(i * 7 % 256))[: i * 5]
        ours = signing.sign(msg, KEY, VStyle.ETHEREUM)
        theirs = acct.sign_message(encode_defunct(primitive=msg)).signature
        assert ours == bytes(theirs)
