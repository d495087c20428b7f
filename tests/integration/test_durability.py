"""Nothing acknowledged is lost: `kill -9` of the hierophant at awkward moments."""
from __future__ import annotations

import socket
import time
import urllib.parse

import grpc

from network_lib.client import NetworkClient
from network_lib.proto import artifact_pb2, artifact_pb2_grpc, network_pb2 as pb
from tests.integration.sp1data import KEY0, elf, stdin, vk, vk_hash
from tests.integration.test_security import http


BOTH_STORES = True      # SQLite + files, and PostgreSQL + S3 (tests/integration/conftest.py)


def wait_for(predicate, timeout: float = 20.0, what: str = "condition"):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def test_kill9_mid_upload_keeps_the_url_usable_and_leaves_no_partial_file(make_hierophant):
    h = make_hierophant()
    stub = artifact_pb2_grpc.ArtifactStoreStub(grpc.insecure_channel(h.grpc_target))
    art = stub.CreateArtifact(artifact_pb2.CreateArtifactRequest(artifact_type=artifact_pb2.STDIN))
    payload = stdin(*range(200_000))                    # 1.6 MB
    url = urllib.parse.urlsplit(art.artifact_presigned_url)
    sock = socket.create_connection(("127.0.0.1", h.http_port))
    sock.sendall(f"PUT {url.path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(payload)}\r\n\r\n".encode())
    sock.sendall(payload[: len(payload) // 2])
    tmp = h.data_dir / "artifacts" / "tmp"
    wait_for(lambda: any(p.stat().st_size > 0 for p in tmp.iterdir()), what="the partial upload on disk")
    h.kill9()
    sock.close()
    h.start()
    assert h.artifact_bytes(art.artifact_uri) is None and h.partial_uploads() == set()
    assert http("PUT", art.artifact_presigned_url, payload)[0] == 200
    assert h.artifact_bytes(art.artifact_uri) == payload


def test_kill9_right_after_request_proof_loses_nothing(make_hierophant):
    h = make_hierophant(auth={"mode": "verify"})
    with NetworkClient(h.rpc_url, KEY0, profile="6.x") as c:
        c.register_program(vk_hash(5), vk(), elf())
        rid = c.request_proof(vk_hash(5), stdin(42), "groth16", timeout_secs=3000)
        h.kill9()                                    # the very moment the RPC returned
    h.start()
    with NetworkClient(h.rpc_url, KEY0, profile="6.x") as c:
        status = c.get_proof_status(rid)
        assert status.fulfillment_status == pb.REQUESTED and status.execution_status == pb.UNEXECUTED
        assert status.deadline > time.time() + 2900
        details = c.get_proof_request_details(rid)
        assert details.mode == pb.GROTH16 and details.stdin_uri
        assert h.artifact_bytes(details.stdin_uri) == stdin(42)
        program = c.get_program(vk_hash(5))
        assert program is not None and program.vk == vk()
        nonce = c.get_nonce()
        assert nonce == 2           # CreateProgram used 0, RequestProof 1: both remembered
        # and the idempotent retry still finds the same request after the restart
        again = c._request_once(dict(vk_hash=vk_hash(5), version="sp1-v6.1.0", mode=4, strategy=1,
                                     stdin_uri=details.stdin_uri, deadline=details.deadline,
                                     cycle_limit=1, gas_limit=1, stdin_private=False))
        assert again.body.request_id == rid


def test_kill9_after_create_artifact_keeps_the_upload_url(make_hierophant):
    h = make_hierophant()
    with NetworkClient(h.rpc_url, unsigned=True) as c:
        art = c.create_artifact("PROGRAM")
    h.kill9()
    h.start()
    from network_lib.bincode import encode_elf_artifact
    assert http("PUT", art.artifact_presigned_url, encode_elf_artifact(elf()))[0] == 200
    with NetworkClient(h.rpc_url, unsigned=True) as c:
        c.create_program(vk_hash(6), vk(), art.artifact_uri)
        assert c.get_program(vk_hash(6)).program_uri == art.artifact_uri
