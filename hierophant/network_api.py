"""The ProverNetwork and ArtifactStore semantics, on the reactor (sdk-network-contract.md).

Each method takes already-parsed, already-authenticated input from the gRPC bridge and
returns a protobuf response or raises `RpcError`. Every state change is persisted before
the method returns, so whatever a client is told survives `kill -9`.
"""
from __future__ import annotations

import logging
import secrets
from typing import Callable

from twisted.internet import defer

from hierophant import errors
from hierophant.artifacts import ArtifactIndex
from hierophant.model import ArtifactKind, Program, ProofRequest, now, rid_hex
from hierophant.programs import Nonces, Programs
from hierophant.requests import RequestBook
from network_lib import versions
from network_lib.proto import artifact_pb2, network_pb2 as pb
from network_lib.signing import address_hex, keccak256

log = logging.getLogger(__name__)

U256_MAX = str((1 << 256) - 1)
UPLOADABLE = {ArtifactKind.PROGRAM, ArtifactKind.STDIN, ArtifactKind.PRIVATE_STDIN}
STDIN_KINDS = {ArtifactKind.STDIN, ArtifactKind.PRIVATE_STDIN}
MAX_PAGE = 100
MAX_VK_BYTES = 1 << 20   # GetProgram returns the vk, and responses must stay under 4 MiB (§9 item 19)


def _need32(value: bytes, what: str) -> bytes:
    if len(value) != 32:
        raise errors.invalid(f"{what} must be 32 bytes, got {len(value)}")
    return value


def _need20(value: bytes, what: str) -> bytes:
    if len(value) != 20:
        raise errors.invalid(f"{what} must be a 20-byte address, got {len(value)} bytes")
    return value


class NetworkApi:
    def __init__(self, artifacts: ArtifactIndex, programs: Programs, nonces: Nonces,
                 requests: RequestBook, upload_url: Callable[[str], str], check_nonces: bool) -> None:
        self.artifacts = artifacts
        self.programs = programs
        self.nonces = nonces
        self.requests = requests
        self.upload_url = upload_url
        self.check_nonces = check_nonces
        self._pending: dict[tuple, defer.Deferred] = {}

    # -- ArtifactStore ---------------------------------------------------------------------
    @defer.inlineCallbacks
    def create_artifact(self, requester: bytes, artifact_type: int) -> defer.Deferred:
        try:
            kind = ArtifactKind(artifact_type)
        except ValueError:
            raise errors.invalid(f"unknown artifact_type {artifact_type}") from None
        if kind not in UPLOADABLE:
            raise errors.invalid(f"artifact_type {kind.name} cannot be uploaded; "
                                 "use PROGRAM, STDIN or PRIVATE_STDIN")
        artifact = yield self.artifacts.create(kind, requester)
        return artifact_pb2.CreateArtifactResponse(
            artifact_uri=artifact.uri, artifact_presigned_url=self.upload_url(artifact.upload_token))

    # -- programs -------------------------------------------------------------------------
    def get_program(self, vk_hash: bytes) -> pb.GetProgramResponse:
        program = self.programs.get(vk_hash)
        if program is None:
            # §5.4: exactly NOT_FOUND, or the SDK skips registration.
            raise errors.not_found(f"program 0x{vk_hash.hex()} is not registered")
        return pb.GetProgramResponse(program=pb.Program(
            vk_hash=program.vk_hash, vk=program.vk, program_uri=program.program_uri,
            owner=program.owner, created_at=program.created_at))

    @defer.inlineCallbacks
    def create_program(self, requester: bytes, body: pb.CreateProgramRequestBody, body_bytes: bytes) -> defer.Deferred:
        vk_hash = _need32(body.vk_hash, "vk_hash")
        if len(body.vk) > MAX_VK_BYTES:
            raise errors.invalid(f"vk of {len(body.vk)} bytes is over the {MAX_VK_BYTES}-byte limit")
        nonces = self._accept_nonce(requester, body.nonce)
        tx_hash = keccak256(body_bytes)
        existing = self.programs.get(vk_hash)
        if existing is not None:
            # Registered already (another client or a retry): keep the first registration.
            yield self.nonces.persist(nonces)
            return pb.CreateProgramResponse(tx_hash=tx_hash, body=pb.CreateProgramResponseBody())
        artifact = self.artifacts.get(body.program_uri)
        if artifact is None or artifact.kind != ArtifactKind.PROGRAM:
            raise errors.precondition(f"program_uri {body.program_uri!r} is not a PROGRAM artifact "
                                      "from CreateArtifact")
        if not artifact.complete:
            raise errors.precondition(f"program artifact {artifact.id} has not been uploaded")
        _check_owner(artifact, requester)
        t = now()
        program = Program(vk_hash=vk_hash, vk=body.vk, program_uri=body.program_uri,
                          artifact_id=artifact.id, owner=requester, created_at=t, last_used=t)
        yield self.programs.register(program, nonces)
        self.nonces.committed(nonces)
        log.info("program 0x%s registered by %s", vk_hash.hex(), _who(requester))
        return pb.CreateProgramResponse(tx_hash=tx_hash, body=pb.CreateProgramResponseBody())

    # -- nonces and balance -------------------------------------------------------------
    def get_nonce(self, address: bytes) -> pb.GetNonceResponse:
        return pb.GetNonceResponse(nonce=self.nonces.next(_need20(address, "address")))

    def get_balance(self, address: bytes) -> pb.GetBalanceResponse:
        _need20(address, "address")
        # A self-hosted network bills nobody: report U256::MAX, a valid decimal (§5.6).
        return pb.GetBalanceResponse(amount=U256_MAX)

    # -- proof requests --------------------------------------------------------------------
    @defer.inlineCallbacks
    def request_proof(self, requester: bytes, body: pb.RequestProofRequestBody, body_bytes: bytes) -> defer.Deferred:
        request = self._validate_request(requester, body, body_bytes)
        key = request.idempotency_key
        # A retry (fresh nonce, lost response) gets the first request's id (DESIGN.md).
        while key in self._pending:
            yield self._pending[key]
        existing = self.requests.find_retry(key)
        nonces = self._accept_nonce(requester, body.nonce)
        if existing is not None:
            yield self.nonces.persist(nonces)
            log.info("RequestProof retry for %s: same request", rid_hex(existing.request_id))
            return _request_response(existing)
        done = self._pending[key] = defer.Deferred()
        try:
            # Retention keeps programs in use; both writes share one group commit.
            yield defer.gatherResults([self.requests.add(request, nonces),
                                       self.programs.touch(request.vk_hash, request.created_at)],
                                      consumeErrors=True).addErrback(_first_error)
            self.nonces.committed(nonces)
        finally:
            del self._pending[key]
            done.callback(None)
        log.info("request %s: %s %s by %s, deadline %d", rid_hex(request.request_id),
                 versions.ProofMode(request.mode).name, request.circuit_version, _who(requester),
                 request.deadline)
        return _request_response(request)

    def _validate_request(self, requester: bytes, body: pb.RequestProofRequestBody,
                          body_bytes: bytes) -> ProofRequest:
        vk_hash = _need32(body.vk_hash, "vk_hash")
        try:
            circuit = versions.circuit_from_request_version(body.version)
        except ValueError as e:
            raise errors.invalid(str(e)) from None
        if body.mode not in (1, 2, 3, 4):
            raise errors.invalid(f"mode {body.mode} is not one of CORE(1), COMPRESSED(2), PLONK(3), GROTH16(4)")
        program = self.programs.get(vk_hash)
        if program is None:
            raise errors.precondition(f"program 0x{vk_hash.hex()} is not registered (CreateProgram first)")
        stdin = self.artifacts.get(body.stdin_uri)
        if stdin is None or stdin.kind not in STDIN_KINDS:
            raise errors.precondition(f"stdin_uri {body.stdin_uri!r} is not a STDIN artifact from CreateArtifact")
        if not stdin.complete:
            raise errors.precondition(f"stdin artifact {stdin.id} has not been uploaded")
        _check_owner(stdin, requester)
        t = now()
        return ProofRequest(
            request_id=secrets.token_bytes(32), requester=requester, vk_hash=vk_hash,
            version=body.version, circuit_version=circuit, mode=body.mode, strategy=body.strategy,
            stdin_uri=body.stdin_uri, stdin_artifact=stdin.id, program_artifact=program.artifact_id,
            program_uri=program.program_uri, deadline=body.deadline, cycle_limit=body.cycle_limit,
            gas_limit=body.gas_limit, min_auction_period=body.min_auction_period,
            whitelist=tuple(body.whitelist),
            stdin_private=body.stdin_private or stdin.kind == ArtifactKind.PRIVATE_STDIN,
            nonce=body.nonce, tx_hash=keccak256(body_bytes), created_at=t, updated_at=t)

    def get_details(self, request_id: bytes) -> pb.GetProofRequestDetailsResponse:
        r = self.requests.get(request_id)
        if r is None:
            raise errors.not_found(f"unknown request id {rid_hex(request_id)}")
        return pb.GetProofRequestDetailsResponse(request=proof_request_message(r))

    def get_filtered(self, q: pb.GetFilteredProofRequestsRequest) -> pb.GetFilteredProofRequestsResponse:
        limit = q.limit if q.HasField("limit") and q.limit > 0 else 10
        limit = min(limit, MAX_PAGE)
        page = q.page if q.HasField("page") and q.page > 0 else 1
        matches = sorted((r for r in self.requests.all() if _matches(r, q)),
                         key=lambda r: (r.created_at, r.request_id), reverse=True)
        chosen = matches[(page - 1) * limit: page * limit]
        return pb.GetFilteredProofRequestsResponse(requests=[proof_request_message(r) for r in chosen])

    # -- nonces ---------------------------------------------------------------------------
    def _accept_nonce(self, requester: bytes, nonce: int) -> dict[bytes, int]:
        if not self.check_nonces or not requester:
            return {}
        if not self.nonces.fresh(requester, nonce):
            # ABORTED: the SDK re-fetches the nonce and re-signs (§3.3, §9 item 17).
            raise errors.aborted(f"nonce {nonce} for {address_hex(requester)} was already used; "
                                 f"expected {self.nonces.next(requester)} or greater")
        self.nonces.reserve(requester, nonce)
        return {requester: nonce}



def _first_error(failure):
    """gatherResults wraps a failure in FirstError: hand on the original one."""
    failure.trap(defer.FirstError)
    return failure.value.subFailure


def _check_owner(artifact, requester: bytes) -> None:
    """With signatures on, an upload can only be used by the key that created it."""
    if requester and artifact.owner and artifact.owner != requester:
        raise errors.denied(f"artifact {artifact.id} was created by {address_hex(artifact.owner)}, "
                            f"not by the signer {address_hex(requester)}")


def _who(requester: bytes) -> str:
    return address_hex(requester) if requester else "an unauthenticated client"


def _request_response(r: ProofRequest) -> pb.RequestProofResponse:
    # §5.2/§5.3: both exactly 32 bytes, body always present.
    return pb.RequestProofResponse(tx_hash=r.tx_hash,
                                   body=pb.RequestProofResponseBody(request_id=r.request_id))


def proof_request_message(r: ProofRequest) -> pb.ProofRequest:
    """Base-schema ProofRequest; tags 34/35 stay at their defaults (§2.6 schema trap)."""
    m = pb.ProofRequest(
        request_id=r.request_id, vk_hash=r.vk_hash, version=r.version, mode=r.mode,
        strategy=r.strategy, program_uri=r.program_uri, stdin_uri=r.stdin_uri, deadline=r.deadline,
        cycle_limit=r.cycle_limit, fulfillment_status=int(r.fulfillment),
        execution_status=int(r.execution), requester=r.requester, created_at=r.created_at,
        updated_at=r.updated_at, tx_hash=r.tx_hash, gas_limit=r.gas_limit,
        execute_fail_cause=r.execute_fail_cause, min_auction_period=r.min_auction_period,
        whitelist=r.whitelist)
    if r.fulfilled_at is not None:
        m.fulfilled_at = r.fulfilled_at
    if r.cycles is not None:
        m.cycles = r.cycles
    if r.public_values_hash:
        m.public_values_hash = r.public_values_hash
    return m


def _matches(r: ProofRequest, q: pb.GetFilteredProofRequestsRequest) -> bool:
    checks = (
        ("version", lambda v: r.version == v),
        ("fulfillment_status", lambda v: int(r.fulfillment) == v),
        ("execution_status", lambda v: int(r.execution) == v),
        ("minimum_deadline", lambda v: r.deadline > v),
        ("vk_hash", lambda v: r.vk_hash == v),
        ("requester", lambda v: r.requester == v),
        ("fulfiller", lambda v: False),   # no on-chain fulfillers here
        ("from", lambda v: r.created_at >= v),
        ("to", lambda v: r.created_at <= v),
        ("mode", lambda v: r.mode == v),
        ("execute_fail_cause", lambda v: r.execute_fail_cause == v),
    )
    return all(fn(getattr(q, name)) for name, fn in checks if q.HasField(name))
