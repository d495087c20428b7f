"""Bad input is refused where it enters, with a message naming it (issue 8)."""
from __future__ import annotations

import grpc
import pytest

from network_lib.client import NetworkClient
from network_lib.client.errors import RpcError
from network_lib.mockproof import V6_VK_LEN, mock_proof
from network_lib.vkhash import BN254_R
from tests.integration.sp1data import elf, public_values, stdin, vk, vk_hash

NOT_STDIN = {
    "garbage": b"this is not an SP1Stdin at all",
    "truncated": stdin(1, 2)[:-3],
    "trailing bytes": stdin(1) + b"\x00",
    "huge buffer count": (10**9).to_bytes(8, "little") + bytes(16),
}


@pytest.mark.parametrize("profile", ["6.x", "5.0"])
@pytest.mark.parametrize("what", list(NOT_STDIN))
def test_a_stdin_that_is_not_sp1stdin_is_refused_at_request_proof(hierophant, profile, what):
    with NetworkClient(hierophant.rpc_url, unsigned=True, profile=profile) as c:
        c.register_program(vk_hash(1), vk(), elf())
        with pytest.raises(RpcError) as e:
            c.request_proof(vk_hash(1), NOT_STDIN[what], "core")
        assert c.get_filtered_proof_requests() == []         # nothing was queued
    assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "not SP1Stdin bincode" in e.value.details, e.value.details


def test_a_vk_hash_in_neither_form_is_refused_naming_both(hierophant):
    with NetworkClient(hierophant.rpc_url, unsigned=True) as c:
        with pytest.raises(RpcError) as e:
            c.register_program(b"\xff" * 32, vk(), elf())
        assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT
        assert "2^31" in e.value.details and "BN254" in e.value.details
        # either form alone is fine: a BN254 element that is not eight words (SDK 5.0.0-5.0.5)
        assert c.register_program((BN254_R - 1).to_bytes(32, "big"), vk(), elf())


def test_mock_proves_v6_compressed_for_a_program_registered_without_a_vk(make_hierophant, make_contemplant):
    h = make_hierophant()
    c = make_contemplant(h, delay_secs=0.2)
    with NetworkClient(h.rpc_url, unsigned=True) as net:
        proof = net.prove(vk_hash(5), b"", elf(), stdin(5), "compressed")
    assert proof == mock_proof(2, "v6.1.0", vk_hash(5), public_values(5), bytes(V6_VK_LEN))
    assert "registered without a vk" in c.log()
