"""``hierophant-client`` argument parsing, output and error handling (no network)."""

from __future__ import annotations

import json

import grpc
import pytest

from network_lib.bincode import SP1Stdin
from network_lib.client import NetworkClient, RpcError
from network_lib.client.cli import build_parser, encode_stdin_item, main
from network_lib.client.testing import FakeHttp, FakeTransport, artifact_handler, nonce_counter, not_found, request_ok
from network_lib.proto import network_pb2 as pb

KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
VK_HASH = "0x" + "11" * 32
RID = "0x" + "42" * 32


@pytest.fixture(autouse=True)
def _no_env(monkeypatch):
    monkeypatch.delenv("NETWORK_RPC_URL", raising=False)
    monkeypatch.delenv("NETWORK_PRIVATE_KEY", raising=False)


class Factory:
    """Stands in for NetworkClient's constructor; records how the CLI built the client."""

    def __init__(self, handlers=None):
        self.transport = FakeTransport(handlers or {})
        self.http = FakeHttp()
        self.args = None

    def __call__(self, rpc_url, private_key, profile, *, unsigned=False, retry_budget=120.0):
        self.args = (rpc_url, private_key, profile, unsigned)
        self.retry_budget = retry_budget
        return NetworkClient(rpc_url, private_key, profile, unsigned=unsigned, retry_budget=retry_budget,
                             transport=self.transport, http=self.http, sleep=lambda s: None)


def test_defaults_and_env(monkeypatch):
    a = build_parser().parse_args(["status", RID])
    assert (a.rpc_url, a.private_key, a.sdk, a.unsigned) == ("http://127.0.0.1:9000", None, "6.x", False)
    monkeypatch.setenv("NETWORK_RPC_URL", "http://h:1")
    monkeypatch.setenv("NETWORK_PRIVATE_KEY", KEY)
    a = build_parser().parse_args(["--sdk", "5.0", "request", "--vk-hash", VK_HASH, "--stdin", "f", "--mode", "plonk"])
    assert (a.rpc_url, a.private_key, a.sdk, a.mode, a.timeout) == ("http://h:1", KEY, "5.0", "plonk", None)


def test_usage_errors_exit_2(capsys):
    for argv in ([], ["request", "--stdin", "f"], ["--sdk", "7", "status", RID], ["request", "--vk-hash", VK_HASH,
                                                                                  "--stdin", "f", "--mode", "fast"]):
        with pytest.raises(SystemExit) as e:
            main(argv, client_factory=Factory())
        assert e.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_help_mentions_key_env_and_vk(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "NETWORK_PRIVATE_KEY" in out and "--unsigned" in out
    with pytest.raises(SystemExit):
        main(["register", "--help"])
    assert "Omit to register an empty vk" in " ".join(capsys.readouterr().out.split())


def test_stdin_builder(tmp_path, capsys):
    out = tmp_path / "in.bin"
    blob = tmp_path / "blob"
    blob.write_bytes(b"RAW")
    argv = ["stdin", "--u64", "1000", "--u32", "0x10", "--bool", "true", "--string", "hi",
            "--vec", "0xabcd", "--bytes", "ef", "--file", str(blob), "--i32", "-1", "--out", str(out)]
    assert main(argv) == 0
    assert "8 buffer(s)" in capsys.readouterr().out
    stdin = SP1Stdin.decode(out.read_bytes())
    assert stdin.buffers == [
        (1000).to_bytes(8, "little"), (16).to_bytes(4, "little"), b"\x01",
        (2).to_bytes(8, "little") + b"hi", (2).to_bytes(8, "little") + b"\xab\xcd", b"\xef", b"RAW",
        b"\xff\xff\xff\xff"]
    assert stdin.ptr == 0 and stdin.proof_count == 0


def test_stdin_bad_values(tmp_path, capsys):
    assert main(["stdin", "--u8", "300", "--out", str(tmp_path / "x")]) == 1
    assert "--u8: '300' is not a valid u8" in capsys.readouterr().err
    assert main(["stdin", "--bytes", "zz", "--out", str(tmp_path / "x")]) == 1
    assert "is not hex" in capsys.readouterr().err
    with pytest.raises(ValueError):
        encode_stdin_item("bool", "maybe")


def test_address(capsys):
    assert main(["--private-key", KEY, "address"]) == 0
    assert capsys.readouterr().out.strip() == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
    assert main(["address"]) == 1
    assert "no private key" in capsys.readouterr().err


def test_request_prints_request_id(tmp_path, capsys):
    stdin = tmp_path / "in.bin"
    stdin.write_bytes(SP1Stdin([b"x"]).encode())
    f = Factory({"CreateArtifact": artifact_handler(), "GetNonce": nonce_counter(), "RequestProof": request_ok()})
    argv = ["--private-key", KEY, "--sdk", "5.2", "--rpc-url", "http://h:9", "request", "--vk-hash", VK_HASH,
            "--stdin", str(stdin), "--mode", "groth16", "--timeout", "60"]
    assert main(argv, client_factory=f) == 0
    assert capsys.readouterr().out.strip() == RID
    assert f.args == ("http://h:9", KEY, "5.2", False)
    assert f.retry_budget == 120.0


def test_signed_command_without_key_fails_cleanly(tmp_path, capsys):
    stdin = tmp_path / "in.bin"
    stdin.write_bytes(SP1Stdin().encode())
    assert main(["request", "--vk-hash", VK_HASH, "--stdin", str(stdin)], client_factory=Factory()) == 1
    err = capsys.readouterr().err
    assert err.startswith("hierophant-client: error: a private key is required") and "Traceback" not in err


def test_missing_file_and_bad_hex(capsys):
    assert main(["--private-key", KEY, "request", "--vk-hash", VK_HASH, "--stdin", "/nonexistent/in.bin"],
                client_factory=Factory({"CreateArtifact": artifact_handler()})) == 1
    assert "No such file" in capsys.readouterr().err
    assert main(["status", "0x1234"], client_factory=Factory()) == 1
    assert "request id must be 32 bytes" in capsys.readouterr().err
    assert main(["--private-key", "nothex", "status", RID], client_factory=Factory()) == 1
    assert "invalid private key" in capsys.readouterr().err


def test_rpc_errors_are_reported_without_traceback(capsys):
    f = Factory({"GetProofRequestStatus": RpcError("GetProofRequestStatus", grpc.StatusCode.NOT_FOUND, "unknown request")})
    assert main(["status", RID], client_factory=f) == 1
    err = capsys.readouterr().err
    assert "GetProofRequestStatus failed: NOT_FOUND: unknown request" in err and "Traceback" not in err


def test_status_prints_json(capsys):
    st = pb.GetProofRequestStatusResponse(fulfillment_status=pb.ASSIGNED, execution_status=pb.EXECUTED,
                                          deadline=99, request_tx_hash=b"\x01\x02")
    assert main(["status", RID], client_factory=Factory({"GetProofRequestStatus": st})) == 0
    assert json.loads(capsys.readouterr().out) == {
        "fulfillment_status": "ASSIGNED", "execution_status": "EXECUTED", "request_tx_hash": "0x0102", "deadline": 99}


def test_wait_writes_proof_and_failed_request_exits_3(tmp_path, capsys):
    from network_lib.client.testing import plonk_fixture

    f = Factory({"GetProofRequestStatus": pb.GetProofRequestStatusResponse(
        fulfillment_status=pb.FULFILLED, execution_status=pb.EXECUTED, deadline=2**40, proof_uri="http://h/p")})
    f.http.objects["http://h/p"] = plonk_fixture()
    out = tmp_path / "proof.bin"
    assert main(["wait", RID, "--out", str(out)], client_factory=f) == 0
    assert out.read_bytes() == plonk_fixture()
    assert "119 bytes, SP1Proof plonk, sp1_version v6.1.0" in capsys.readouterr().out
    f = Factory({"GetProofRequestStatus": pb.GetProofRequestStatusResponse(
        fulfillment_status=pb.UNFULFILLABLE, execution_status=pb.EXECUTED, deadline=2**40)})
    assert main(["wait", RID], client_factory=f) == 3
    assert f"Proof request {RID} is unfulfillable" in capsys.readouterr().err


def test_prove_register_list_nonce_balance(tmp_path, capsys):
    from network_lib.client.testing import plonk_fixture

    elf, vk, stdin = tmp_path / "p.elf", tmp_path / "vk.bin", tmp_path / "in.bin"
    elf.write_bytes(b"\x7fELF" + bytes(100))
    vk.write_bytes(b"VK")
    stdin.write_bytes(SP1Stdin([b"1"]).encode())
    f = Factory({
        "GetProgram": not_found(), "CreateArtifact": artifact_handler(), "GetNonce": nonce_counter(),
        "CreateProgram": pb.CreateProgramResponse(), "RequestProof": request_ok(),
        "GetProofRequestStatus": pb.GetProofRequestStatusResponse(
            fulfillment_status=pb.FULFILLED, execution_status=pb.EXECUTED, deadline=2**40, proof_uri="http://h/p"),
        "GetFilteredProofRequests": pb.GetFilteredProofRequestsResponse(requests=[pb.ProofRequest(mode=pb.PLONK)]),
        "GetBalance": pb.GetBalanceResponse(amount="12345"),
    })
    f.http.objects["http://h/p"] = plonk_fixture()
    base = ["--private-key", KEY]
    assert main(base + ["prove", "--elf", str(elf), "--vk-hash", VK_HASH, "--vk", str(vk), "--stdin", str(stdin),
                        "--mode", "plonk"], client_factory=f) == 0
    assert "proof ready: 119 bytes" in capsys.readouterr().out
    create_program = pb.CreateProgramRequest.FromString(f.transport.raw("CreateProgram")[0])
    assert create_program.body.vk == b"VK"
    assert main(base + ["list", "--fulfillment-status", "fulfilled", "--limit", "5"], client_factory=f) == 0
    assert json.loads(capsys.readouterr().out) == [{"mode": "PLONK"}]
    assert main(base + ["nonce"], client_factory=f) == 0
    assert capsys.readouterr().out.strip().isdigit()
    assert main(["balance", "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"], client_factory=f) == 0
    assert capsys.readouterr().out.strip() == "12345"
    assert main(["balance"], client_factory=f) == 1
    assert "no address given" in capsys.readouterr().err


def test_register_without_vk_sends_empty_vk(tmp_path, capsys):
    elf = tmp_path / "p.elf"
    elf.write_bytes(b"\x7fELF")
    f = Factory({"GetProgram": not_found(), "CreateArtifact": artifact_handler(), "GetNonce": nonce_counter(),
                 "CreateProgram": pb.CreateProgramResponse()})
    assert main(["--unsigned", "register", "--elf", str(elf), "--vk-hash", VK_HASH], client_factory=f) == 0
    assert capsys.readouterr().out.strip() == "registered"
    assert pb.CreateProgramRequest.FromString(f.transport.raw("CreateProgram")[0]).body.vk == b""
    f.transport.handlers["GetProgram"] = pb.GetProgramResponse()
    assert main(["--unsigned", "register", "--elf", str(elf), "--vk-hash", VK_HASH], client_factory=f) == 0
    assert capsys.readouterr().out.strip() == "already registered"
