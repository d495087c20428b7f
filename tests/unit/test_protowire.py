import pytest

from network_lib import protowire, signing
from network_lib.protowire import WireError

# sdk-network-contract.md §3.4 TV3.
TV3_BODY = bytes.fromhex(
    "0807122011111111111111111111111111111111111111111111111111111111111111111a0a7370312d76"
    "362e312e30200228013233687474703a2f2f3132372e302e302e313a383038312f6172746966616374732f"
    "737464696e2f61727469666163745f746573743880a4a7da064080c2d72f488094ebdc03"
)
TV3_SIG = bytes.fromhex(
    "e7f567c3899ce0f5169f9e1563a6f452b74ba7f726102672950dc8003a8d96e1"
    "082d08a62fd9f171153b1450e9ab2b4a70a5af59a59cf0e4d6b98001c1a8ce8e" "1b"
)
TV3_ENVELOPE = bytes.fromhex("08011241") + TV3_SIG + bytes.fromhex("1a7a") + TV3_BODY
ADDRESS_RAW = bytes.fromhex("f39fd6e51aad88f6f4ce6ab8827279cfffb92266")

enc = protowire


def test_tv3_envelope_split_and_recover():
    assert len(TV3_ENVELOPE) == 193
    fmt, sig, body = protowire.split_signed_envelope(TV3_ENVELOPE)
    assert (fmt, sig, body) == (1, TV3_SIG, TV3_BODY)
    assert signing.recover_signer(body, sig) == ADDRESS_RAW


def test_encode_signed_envelope_reproduces_tv3():
    assert protowire.encode_signed_envelope(1, TV3_SIG, TV3_BODY) == TV3_ENVELOPE


def test_tv3_matches_generated_protobuf_when_available():
    network_pb2 = pytest.importorskip("network_lib.proto.network_pb2")
    req = network_pb2.RequestProofRequest.FromString(TV3_ENVELOPE)
    assert req.format == 1 and req.signature == TV3_SIG
    assert req.body.SerializeToString() == TV3_BODY
    assert req.SerializeToString() == TV3_ENVELOPE


def test_body_is_taken_raw_not_reserialised():
    # Non-canonical body (field 4 before field 1, plus an unknown field 99): a re-serialising
    # parser would change these bytes and break the signature.
    body = enc.encode_varint_field(4, 2) + enc.encode_varint_field(1, 7) + enc.encode_len_field(99, b"x")
    _, _, got = protowire.split_signed_envelope(protowire.encode_signed_envelope(1, b"s", body))
    assert got == body


def test_unknown_fields_of_every_wire_type_are_skipped():
    unknown = (
        enc.encode_varint_field(7, 300)
        + enc.encode_tag(8, protowire.FIXED64) + bytes(8)
        + enc.encode_tag(9, protowire.FIXED32) + bytes(4)
        + enc.encode_len_field(10, b"abc")
        + enc.encode_tag(11, protowire.START_GROUP) + enc.encode_varint_field(1, 5)
        + enc.encode_tag(12, protowire.START_GROUP) + enc.encode_tag(12, protowire.END_GROUP)
        + enc.encode_tag(11, protowire.END_GROUP)
    )
    raw = unknown + TV3_ENVELOPE + unknown
    assert protowire.split_signed_envelope(raw) == (1, TV3_SIG, TV3_BODY)


def test_field_order_does_not_matter():
    raw = (
        enc.encode_len_field(3, TV3_BODY) + enc.encode_len_field(2, TV3_SIG) + enc.encode_varint_field(1, 1)
    )
    assert protowire.split_signed_envelope(raw) == (1, TV3_SIG, TV3_BODY)


def test_envelope_ending_after_signature_has_empty_body():
    assert protowire.split_signed_envelope(TV3_ENVELOPE[:69]) == (1, TV3_SIG, b"")


def test_absent_fields_take_defaults():
    assert protowire.split_signed_envelope(b"") == (0, b"", b"")
    assert protowire.split_signed_envelope(enc.encode_len_field(3, b"")) == (0, b"", b"")
    assert protowire.encode_signed_envelope(0, b"", b"") == b"\x1a\x00"


def test_negative_format_is_sign_extended():
    raw = enc.encode_varint_field(1, -1)
    assert len(raw) == 11
    assert protowire.split_signed_envelope(raw)[0] == -1


@pytest.mark.parametrize("cut", [1, 3, 4, 50, 68, 70, 71, 192])
def test_truncation_rejected(cut):
    with pytest.raises(WireError, match="truncated"):
        protowire.split_signed_envelope(TV3_ENVELOPE[:cut])


@pytest.mark.parametrize(
    "raw, match",
    [
        (enc.encode_len_field(2, b"a") * 2, r"field 2 \(signature\) appears more than once"),
        (enc.encode_len_field(3, b"a") + enc.encode_len_field(3, b"b"), r"field 3 \(body\) appears"),
        (enc.encode_varint_field(1, 1) * 2, r"field 1 \(format\) appears"),
        (enc.encode_varint_field(2, 5), r"field 2 \(signature\) has wire type 0, expected 2"),
        (enc.encode_len_field(1, b"\x01"), r"field 1 \(format\) has wire type 2, expected 0"),
        (enc.encode_tag(3, protowire.FIXED32) + bytes(4), r"field 3 \(body\) has wire type 5"),
        (b"\x80" * 11, "longer than 10 bytes"),
        (b"\xff" * 9 + b"\x02", "overflows 64 bits"),
        (b"\x08\x80", "truncated varint"),
        (b"\x00", "invalid field number 0"),
        (b"\x0e", "invalid wire type 6"),
        (b"\x0f", "invalid wire type 7"),
        (enc.encode_tag(5, protowire.END_GROUP), "unexpected end-group"),
        (enc.encode_tag(5, protowire.START_GROUP), "unterminated group"),
        (enc.encode_tag(5, protowire.START_GROUP) + enc.encode_tag(6, protowire.END_GROUP), "group 5 closed by end-group 6"),
        (enc.encode_tag(9, protowire.FIXED64) + bytes(7), "truncated fixed64"),
    ],
)
def test_malformed_rejected(raw, match):
    with pytest.raises(WireError, match=match):
        protowire.split_signed_envelope(raw)


def test_deeply_nested_groups_rejected():
    raw = enc.encode_tag(5, protowire.START_GROUP) * 100
    with pytest.raises(WireError, match="nested too deeply"):
        protowire.split_signed_envelope(raw)


@pytest.mark.parametrize("value", [0, 1, 127, 128, 300, 2**32, 2**64 - 1])
def test_varint_round_trip(value):
    data = enc.encode_varint(value)
    assert protowire.read_varint(data + b"\xaa", 0) == (value, len(data))


def test_iter_fields():
    fields = list(protowire.iter_fields(TV3_BODY))
    assert [(f.number, f.wire_type) for f in fields] == [
        (1, 0), (2, 2), (3, 2), (4, 0), (5, 0), (6, 2), (7, 0), (8, 0), (9, 0),
    ]
    assert fields[0].value == 7 and fields[2].value == b"sp1-v6.1.0"
