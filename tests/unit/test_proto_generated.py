"""The committed protobuf modules are exactly what proto/*.proto generates."""
from __future__ import annotations


import pytest

from network_lib.proto import artifact_pb2, network_pb2
from network_lib.proto.generate import ROOT, generate

pytest.importorskip("grpc_tools")


def test_committed_modules_match_a_fresh_generation(tmp_path):
    produced = generate(tmp_path)
    assert {p.name for p in produced} == {
        "artifact_pb2.py", "artifact_pb2.pyi", "artifact_pb2_grpc.py",
        "network_pb2.py", "network_pb2.pyi", "network_pb2_grpc.py"}
    for p in produced:
        committed = ROOT / "network_lib" / "proto" / p.name
        assert committed.read_bytes() == p.read_bytes(), f"{committed} is stale: run `make proto`"


def test_service_and_method_names_are_the_sdk_paths():
    # sdk-network-contract.md §1.1: only these names travel on the wire.
    net = network_pb2.DESCRIPTOR.services_by_name["ProverNetwork"]
    assert net.full_name == "network.ProverNetwork"
    assert {m.name for m in net.methods} == {
        "RequestProof", "GetProofRequestStatus", "GetProofRequestDetails", "GetFilteredProofRequests",
        "GetNonce", "GetProgram", "CreateProgram", "GetBalance"}
    art = artifact_pb2.DESCRIPTOR.services_by_name["ArtifactStore"]
    assert art.full_name == "artifact.ArtifactStore"
    assert [m.name for m in art.methods] == ["CreateArtifact"]


@pytest.mark.parametrize("message,fields", [
    ("RequestProofRequestBody", {"nonce": 1, "vk_hash": 2, "version": 3, "mode": 4, "strategy": 5,
                                 "stdin_uri": 6, "deadline": 7, "cycle_limit": 8, "gas_limit": 9,
                                 "min_auction_period": 10, "whitelist": 11, "stdin_private": 12}),
    ("GetProofRequestStatusResponse", {"fulfillment_status": 1, "execution_status": 2,
                                       "request_tx_hash": 3, "deadline": 4, "fulfill_tx_hash": 5,
                                       "proof_uri": 6, "public_values_hash": 7, "proof_public_uri": 8}),
    ("CreateProgramRequestBody", {"nonce": 1, "vk_hash": 2, "vk": 3, "program_uri": 4}),
])
def test_field_numbers(message, fields):
    desc = network_pb2.DESCRIPTOR.message_types_by_name[message]
    assert {f.name: f.number for f in desc.fields} == fields


def test_proof_request_has_all_35_base_fields():
    desc = network_pb2.DESCRIPTOR.message_types_by_name["ProofRequest"]
    assert sorted(f.number for f in desc.fields) == list(range(1, 36))


def test_enum_values():
    assert dict(network_pb2.FulfillmentStatus.items()) == {
        "UNSPECIFIED_FULFILLMENT_STATUS": 0, "REQUESTED": 1, "ASSIGNED": 2, "FULFILLED": 3,
        "UNFULFILLABLE": 4, "REVERTED": 5, "EXPIRED": 6}
    assert dict(network_pb2.MessageFormat.items())["BINARY"] == 1
    assert dict(artifact_pb2.ArtifactType.items())["PRIVATE_STDIN"] == 7
    assert [v for _, v in network_pb2.ExecutionStatus.items()] == [0, 1, 2, 3]
