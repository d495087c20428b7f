"""Signature bytes per SDK profile: TV1-TV3 of sdk-network-contract.md §3.4, byte-exact."""

from __future__ import annotations

import dataclasses

import pytest

from network_lib import protowire, signing
from network_lib.client import ClientError, MissingKeyError, NetworkClient
from network_lib.client.profiles import SDK_5_0, SDK_5_2, SDK_6, get_profile
from network_lib.client.testing import FakeClock, FakeHttp, FakeTransport, not_found, request_ok
from network_lib.proto import artifact_pb2, network_pb2 as pb

KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"  # TV1 (Anvil #0)
ADDRESS = bytes.fromhex("f39fd6e51aad88f6f4ce6ab8827279cfffb92266")

TV2_RS = bytes.fromhex(
    "53bdc4005c15f103cba321d6202b25825b635216be736ee7fbc431b3f44e4b4a"
    "2a992d7f4ad12e3caf55595ae99e826524957e08506285d9d83c9e1e51bbb846"
)
TV3_BODY = bytes.fromhex(
    "0807122011111111111111111111111111111111111111111111111111111111111111111a0a7370312d76362e"
    "312e30200228013233687474703a2f2f3132372e302e302e313a383038312f6172746966616374732f737464"
    "696e2f61727469666163745f746573743880a4a7da064080c2d72f488094ebdc03"
)
TV3_RS = bytes.fromhex(
    "e7f567c3899ce0f5169f9e1563a6f452b74ba7f726102672950dc8003a8d96e1"
    "082d08a62fd9f171153b1450e9ab2b4a70a5af59a59cf0e4d6b98001c1a8ce8e"
)
TV3_STDIN_URI = "http://127.0.0.1:8081/artifacts/stdin/artifact_test"
TV3_DEADLINE = 1_800_000_000


def _tv3_client(profile) -> tuple[NetworkClient, FakeTransport]:
    """A client whose RequestProof body equals TV3's field values (nonce 7, deadline ...)."""
    art = artifact_pb2.CreateArtifactResponse(artifact_uri=TV3_STDIN_URI, artifact_presigned_url=TV3_STDIN_URI)
    t = FakeTransport({
        "CreateArtifact": art,
        "GetNonce": pb.GetNonceResponse(nonce=7),
        "RequestProof": request_ok(),
    })
    clock = FakeClock(now=TV3_DEADLINE - 14_400)
    c = NetworkClient("http://x:1", KEY, profile, transport=t, http=FakeHttp(),
                      clock=clock.time, monotonic=clock.monotonic, sleep=clock.sleep)
    return c, t


def _request_tv3(profile) -> FakeTransport:
    c, t = _tv3_client(profile)
    c.request_proof(b"\x11" * 32, b"\x00" * 16, "compressed")
    return t


def test_client_address_is_tv1():
    assert NetworkClient("http://x:1", KEY, transport=FakeTransport()).address == ADDRESS


def test_tv3_envelope_6x_is_byte_exact():
    (raw,) = _request_tv3("6.x").raw("RequestProof")
    expected = bytes.fromhex("08011241") + TV3_RS + b"\x1b" + bytes.fromhex("1a7a") + TV3_BODY
    assert len(TV3_BODY) == 122 and len(expected) == 193
    assert raw == expected


def test_tv3_5_2_same_as_6x_apart_from_nothing_but_version():
    profile = dataclasses.replace(SDK_5_2, version="sp1-v6.1.0")
    (raw,) = _request_tv3(profile).raw("RequestProof")
    assert raw == bytes.fromhex("08011241") + TV3_RS + b"\x1b" + bytes.fromhex("1a7a") + TV3_BODY


def test_tv3_5_0_body_signature_uses_parity_v():
    profile = dataclasses.replace(SDK_5_0, version="sp1-v6.1.0")
    (raw,) = _request_tv3(profile).raw("RequestProof")
    fmt, sig, body = protowire.split_signed_envelope(raw)
    assert (fmt, body) == (1, TV3_BODY)
    assert sig == TV3_RS + b"\x00"


@pytest.mark.parametrize("profile,version", [("5.0", "sp1-v5.0.0"), ("5.2", "sp1-v5.0.0"), ("6.x", "sp1-v6.1.0")])
def test_real_profile_bodies_recover_to_signer(profile, version):
    (raw,) = _request_tv3(profile).raw("RequestProof")
    _, sig, body = protowire.split_signed_envelope(raw)
    parsed = pb.RequestProofRequestBody.FromString(body)
    assert parsed.version == version
    assert sig[64] - get_profile(profile).body_v in (0, 1)
    assert signing.recover_signer(body, sig) == ADDRESS


@pytest.mark.parametrize("profile,v", [("5.0", 0x1C), ("5.2", 0x37), ("6.x", 0x37)])
def test_tv2_create_artifact_signature(profile, v):
    t = _request_tv3(profile)
    (raw,) = t.raw("CreateArtifact")
    req = artifact_pb2.CreateArtifactRequest.FromString(raw)
    assert req.artifact_type == artifact_pb2.STDIN
    assert req.signature == TV2_RS + bytes((v,))
    assert signing.recover_signer(b"create_artifact", req.signature) == ADDRESS


def test_profile_table():
    assert (SDK_5_0.body_v, SDK_5_0.artifact_v) == (0, 27)
    assert (SDK_5_2.body_v, SDK_5_2.artifact_v) == (27, 54)
    assert (SDK_6.body_v, SDK_6.artifact_v) == (27, 54)
    assert not SDK_5_0.compress_uploads and not SDK_5_2.compress_uploads and SDK_6.compress_uploads
    assert not SDK_5_0.shared_channel and SDK_6.shared_channel
    assert get_profile("6.4.0") is SDK_6 and get_profile("5") is SDK_5_0
    with pytest.raises(ValueError, match="unknown SDK profile"):
        get_profile("7.0")


def test_create_program_envelope_signed_over_body():
    t = FakeTransport({
        "GetProgram": not_found(),
        "CreateArtifact": artifact_pb2.CreateArtifactResponse(artifact_uri="prog-1", artifact_presigned_url="http://h/p"),
        "GetNonce": pb.GetNonceResponse(nonce=3),
        "CreateProgram": pb.CreateProgramResponse(),
    })
    http = FakeHttp()
    c = NetworkClient("http://x:1", KEY, "5.0", transport=t, http=http)
    assert c.register_program(b"\x22" * 32, b"VK", b"\x7fELF") is True
    assert t.methods() == ["GetProgram", "CreateArtifact", "GetNonce", "CreateProgram"]
    fmt, sig, body = protowire.split_signed_envelope(t.raw("CreateProgram")[0])
    parsed = pb.CreateProgramRequestBody.FromString(body)
    assert (fmt, parsed.nonce, parsed.vk_hash, parsed.vk, parsed.program_uri) == (1, 3, b"\x22" * 32, b"VK", "prog-1")
    assert sig[64] in (0, 1) and signing.recover_signer(body, sig) == ADDRESS
    assert http.puts["http://h/p"] == (4).to_bytes(8, "little") + b"\x7fELF"  # 5.x: raw bincode


def test_no_key_refuses_to_sign_but_reads_work():
    t = FakeTransport({"CreateArtifact": artifact_pb2.CreateArtifactResponse(),
                       "GetNonce": pb.GetNonceResponse(nonce=5)})
    c = NetworkClient("http://x:1", None, transport=t, http=FakeHttp())
    with pytest.raises(MissingKeyError, match="private key is required"):
        c.create_artifact("stdin")
    assert t.calls == []
    assert c.get_nonce("0x" + ADDRESS.hex()) == 5
    with pytest.raises(MissingKeyError):
        c.get_nonce()


def test_unsigned_mode_sends_empty_signatures_and_zero_address():
    t = FakeTransport({
        "CreateArtifact": artifact_pb2.CreateArtifactResponse(artifact_uri="s", artifact_presigned_url="http://h/s"),
        "GetNonce": pb.GetNonceResponse(nonce=1),
        "RequestProof": request_ok(),
    })
    c = NetworkClient("http://x:1", None, transport=t, http=FakeHttp(), unsigned=True)
    c.request_proof(b"\x11" * 32, b"\x00" * 16)
    assert artifact_pb2.CreateArtifactRequest.FromString(t.raw("CreateArtifact")[0]).signature == b""
    assert pb.GetNonceRequest.FromString(t.raw("GetNonce")[0]).address == bytes(20)
    fmt, sig, body = protowire.split_signed_envelope(t.raw("RequestProof")[0])
    assert (fmt, sig) == (1, b"") and body


def test_invalid_private_key_is_a_client_error():
    with pytest.raises(ClientError, match="invalid private key"):
        NetworkClient("http://x:1", "0x1234", transport=FakeTransport())
