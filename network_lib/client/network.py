"""A blocking Python client that speaks the prover-network contract like sp1-sdk.

Call sequences follow sdk-network-contract.md §1.3 (A register, B request, C wait);
signatures §3; artifacts §4; constraints §5; outcomes and retries §6; channels §7.
"""

from __future__ import annotations

import logging
import os
import random
import time
from typing import Any, BinaryIO, Callable, Optional, TypeVar, Union

import grpc

from network_lib import bincode, protowire, signing
from network_lib.hexutil import fixed_bytes
from network_lib.client import artifacts, outcome
from network_lib.client.artifacts import HttpClient, Payload
from network_lib.client.errors import (
    ClientError,
    MissingKeyError,
    ProtocolError,
    RequestTimedOut,
    RpcError,
)
from network_lib.client.profiles import Profile, get_profile
from network_lib.client.retry import DEFAULT_BUDGET_SECS, retry
from network_lib.client.transport import GrpcTransport, Transport
from network_lib.proto import artifact_pb2, network_pb2 as pb
from network_lib.versions import ProofMode

T = TypeVar("T")
log = logging.getLogger(__name__)

RPC_TIMEOUT_SECS = 60.0  # §7.1
POLL_INTERVAL_SECS = 2.0  # §1.3 step 12
DEFAULT_TIMEOUT_SECS = 14_400  # §6.2: request deadline = now + 4 h
DEFAULT_CYCLE_LIMIT = 100_000_000  # §2.4 field 8, simulation skipped
DEFAULT_GAS_LIMIT = 1_000_000_000  # §2.4 field 9
U64_MAX = bincode.U64_MAX  # 6.x hosted limits (§1.3)
ZERO_ADDRESS = bytes(20)

Data = Union[bytes, bytearray, memoryview, str, os.PathLike]  # bytes, or a file path


def _b32(value: bytes | str, what: str) -> bytes:
    """32 bytes from bytes or (0x-)hex; the SDK holds these as B256 (§5.2)."""
    return fixed_bytes(value, 32, what)


def _parts(data: Data) -> list:
    return [data] if isinstance(data, (bytes, bytearray, memoryview)) else [os.fspath(data)]


class NetworkClient:
    """sp1-sdk's NetworkProver/NetworkClient, in Python (base / Reserved protocol).

    ``private_key`` (hex or 32 bytes) signs CreateArtifact, CreateProgram and RequestProof.
    Without one, read-only calls still work and signed calls raise :class:`MissingKeyError`,
    unless ``unsigned=True``: then signatures are empty and the address is the zero address,
    for servers running ``auth.mode = none``. There is no built-in default key.
    """

    def __init__(
        self,
        rpc_url: str,
        private_key: str | bytes | None = None,
        profile: str | Profile = "6.x",
        *,
        unsigned: bool = False,
        rpc_timeout: float = RPC_TIMEOUT_SECS,
        retry_budget: float = DEFAULT_BUDGET_SECS,
        transport: Optional[Transport] = None,
        http: Optional[Any] = None,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.rpc_url = rpc_url
        self.profile = get_profile(profile)
        self.unsigned = unsigned
        self._key, self.address = self._load_key(private_key, unsigned)
        self.rpc_timeout, self.retry_budget = rpc_timeout, retry_budget
        self.transport = transport or GrpcTransport(rpc_url, shared=self.profile.shared_channel)
        self.http = http or HttpClient()
        self._clock, self._monotonic, self._sleep, self._rng = clock, monotonic, sleep, rng

    @staticmethod
    def _load_key(
        private_key: str | bytes | None, unsigned: bool
    ) -> tuple[str | bytes | None, Optional[bytes]]:
        if private_key is None or private_key == "":
            return None, (ZERO_ADDRESS if unsigned else None)
        try:
            address = signing.private_key_to_address(private_key)
        except ValueError as e:
            raise ClientError(f"invalid private key: {e}") from None
        return private_key, address

    # --- plumbing ---------------------------------------------------------------------

    def close(self) -> None:
        self.transport.close()

    def __enter__(self) -> "NetworkClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _sign(self, message: bytes, v_style: signing.VStyle) -> bytes:
        """§3.2; empty in unsigned mode."""
        if self._key is not None:
            return signing.sign(message, self._key, v_style)
        if self.unsigned:
            return b""
        raise MissingKeyError(
            "a private key is required to sign requests (pass --private-key / "
            "NETWORK_PRIVATE_KEY, or unsigned mode for servers with auth.mode = none)"
        )

    def _my_address(self, address: bytes | str | None) -> bytes:
        if address is not None:
            return signing.parse_address(address) if isinstance(address, str) else bytes(address)
        if self.address is None:
            raise MissingKeyError("no address given and no private key to derive one from")
        return self.address

    def _call(self, method: str, request: Any, response_cls: type[T]) -> T:
        """One attempt of one RPC; ``request`` is a message or pre-encoded bytes."""
        raw = request if isinstance(request, bytes) else request.SerializeToString()
        return response_cls.FromString(self.transport.call(method, raw, self.rpc_timeout))

    def _retry(self, op: Callable[[], T], what: str, budget: Optional[float] = None) -> T:
        """§6.3 back-off around ``op``."""
        return retry(
            op,
            profile=self.profile,
            what=what,
            clock=self._monotonic,
            sleep=self._sleep,
            rng=self._rng,
            budget=self.retry_budget if budget is None else budget,
        )

    # --- artifacts (§1.3 steps 2-3 and 6-7, §4) ---------------------------------------------

    def create_artifact(self, kind: int | str) -> artifact_pb2.CreateArtifactResponse:
        """CreateArtifact signed over ``create_artifact``; retried only by 6.2.2+ (§1.3 step 2)."""
        kind = artifact_pb2.ArtifactType.Value(kind.upper()) if isinstance(kind, str) else kind
        sig = self._sign(signing.CREATE_ARTIFACT_MESSAGE, self.profile.artifact_v)
        req = artifact_pb2.CreateArtifactRequest(signature=sig, artifact_type=kind)

        def op() -> artifact_pb2.CreateArtifactResponse:
            return self._call("CreateArtifact", req, artifact_pb2.CreateArtifactResponse)

        resp = self._retry(op, "CreateArtifact") if self.profile.retry_create_artifact else op()
        if not resp.artifact_presigned_url:
            raise ProtocolError("CreateArtifact returned no artifact_presigned_url")
        return resp

    def upload(self, url: str, data: Data | Payload) -> None:
        """PUT ``data`` (bytes or a file path): raw for 5.x, zstd-3 streamed for 6.x (§4.2).

        Connection failures are retried for the budget; non-2xx fails at once (§4.5).
        """
        payload = data if isinstance(data, Payload) else Payload(_parts(data))
        if self.profile.compress_uploads:
            payload = artifacts.zstd_compress(payload)
        try:
            self._retry(lambda: self.http.put(url, payload), "artifact upload")
        finally:
            payload.close()

    def download(self, url: str, dest: Optional[BinaryIO] = None) -> bytes:
        """GET ``url`` (uncompressed, §4.4); into ``dest`` if given (then returns b"")."""
        return self.http.get(url, dest)

    def _create_and_upload(self, kind: int, data: Data | Payload) -> str:
        art = self.create_artifact(kind)
        self.upload(art.artifact_presigned_url, data)
        return art.artifact_uri

    # --- programs (§1.3 A) ---------------------------------------------------------------

    def get_program(self, vk_hash: bytes | str) -> Optional[pb.Program]:
        """The registered program, or None when the server says NOT_FOUND (§5.4)."""
        req = pb.GetProgramRequest(vk_hash=_b32(vk_hash, "vk_hash"))

        def op() -> Optional[pb.Program]:
            try:
                resp = self._call("GetProgram", req, pb.GetProgramResponse)
            except RpcError as e:
                if e.code is grpc.StatusCode.NOT_FOUND:
                    return None
                raise
            return resp.program  # any OK counts as registered, body not inspected

        return self._retry(op, "GetProgram")

    def register_program(self, vk_hash: bytes | str, vk: bytes, elf: Data) -> bool:
        """GetProgram → NOT_FOUND → CreateArtifact(PROGRAM) → PUT → GetNonce + CreateProgram.

        ``vk`` is bincode(SP1VerifyingKey), opaque; ``elf`` is the raw ELF (bytes or a path);
        it is uploaded as bincode (u64 length + ELF). Returns True if it had to register.
        """
        vk_hash = _b32(vk_hash, "vk_hash")
        if self.get_program(vk_hash) is not None:
            return False
        parts = _parts(elf)
        first = parts[0]
        size = os.stat(first).st_size if isinstance(first, str) else len(first)
        program_uri = self._create_and_upload(
            artifact_pb2.PROGRAM, Payload([bincode.Writer().u64(size).getvalue(), *parts])
        )
        self.create_program(vk_hash, vk, program_uri)
        return True

    def create_program(self, vk_hash: bytes | str, vk: bytes, program_uri: str) -> None:
        """Retry loop of GetNonce + signed CreateProgram (§1.3 step 4)."""
        vk_hash = _b32(vk_hash, "vk_hash")

        def attempt() -> None:
            body = pb.CreateProgramRequestBody(
                nonce=self._nonce_once(), vk_hash=vk_hash, vk=bytes(vk), program_uri=program_uri
            ).SerializeToString()
            self._call("CreateProgram", self._envelope(body), pb.CreateProgramResponse)

        self._retry(attempt, "CreateProgram")

    def _envelope(self, body: bytes) -> bytes:
        """format=BINARY, signature over the exact body bytes, body (§2.2, §3.1)."""
        sig = self._sign(body, self.profile.body_v)
        return protowire.encode_signed_envelope(pb.BINARY, sig, body)

    # --- nonce, balance (§2.3) -----------------------------------------------------------

    def _nonce_once(self, address: bytes | str | None = None) -> int:
        req = pb.GetNonceRequest(address=self._my_address(address))
        return self._call("GetNonce", req, pb.GetNonceResponse).nonce

    def get_nonce(self, address: bytes | str | None = None) -> int:
        """Nonce of ``address`` (default: the signer's)."""
        return self._retry(lambda: self._nonce_once(address), "GetNonce")

    def get_balance(self, address: bytes | str | None = None) -> int:
        """Balance as an int; the server must send a decimal U256 (§5.6)."""
        req = pb.GetBalanceRequest(address=self._my_address(address))
        call = lambda: self._call("GetBalance", req, pb.GetBalanceResponse)  # noqa: E731
        amount = self._retry(call, "GetBalance").amount
        if not (amount.isascii() and amount.isdigit()) or int(amount) >= 1 << 256:
            raise ProtocolError(f"GetBalance returned {amount!r}, not a decimal U256 (sp1-sdk would panic)")
        return int(amount)

    # --- proof requests (§1.3 B) -----------------------------------------------------------

    def request_proof(
        self,
        vk_hash: bytes | str,
        stdin: Data | bincode.SP1Stdin,
        mode: int | str | ProofMode = ProofMode.CORE,
        *,
        timeout_secs: int = DEFAULT_TIMEOUT_SECS,
        cycle_limit: int = DEFAULT_CYCLE_LIMIT,
        gas_limit: int = DEFAULT_GAS_LIMIT,
        strategy: int = pb.HOSTED,
        private_stdin: bool = False,
        hosted: bool = False,
    ) -> bytes:
        """Upload ``stdin`` (bincode SP1Stdin: bytes, a path, or an SP1Stdin) and request a
        proof; returns the 32-byte request id. ``hosted`` (6.x) sends u64::MAX limits."""
        vk_hash, mode = _b32(vk_hash, "vk_hash"), ProofMode.parse(mode)
        self._check_features(private_stdin, hosted)
        if hosted:
            cycle_limit = gas_limit = U64_MAX
        if isinstance(stdin, bincode.SP1Stdin):
            stdin = stdin.encode()
        kind = artifact_pb2.PRIVATE_STDIN if private_stdin else artifact_pb2.STDIN
        stdin_uri = self._create_and_upload(kind, stdin)
        fields = dict(
            vk_hash=vk_hash, version=self.profile.version, mode=int(mode), strategy=strategy,
            stdin_uri=stdin_uri, deadline=int(self._clock()) + int(timeout_secs),
            cycle_limit=cycle_limit, gas_limit=gas_limit, stdin_private=private_stdin,
        )
        resp = self._retry(lambda: self._request_once(fields), "RequestProof")
        return _check_request_response(resp)

    def _check_features(self, private_stdin: bool, hosted: bool) -> None:
        if private_stdin and not self.profile.private_stdin:
            raise ValueError(f"private stdin needs SDK 6.2+, not profile {self.profile.name}")
        if hosted and not self.profile.hosted:
            raise ValueError(f"hosted mode needs SDK 6.3+, not profile {self.profile.name}")

    def _request_once(self, fields: dict) -> pb.RequestProofResponse:
        """One attempt: fresh nonce, re-signed body (§1.3 step 8; ABORTED = stale nonce)."""
        body = pb.RequestProofRequestBody(nonce=self._nonce_once(), **fields).SerializeToString()
        return self._call("RequestProof", self._envelope(body), pb.RequestProofResponse)

    def get_proof_status(self, request_id: bytes | str) -> pb.GetProofRequestStatusResponse:
        """One GetProofRequestStatus, retried on transient errors; nothing downloaded."""
        req = pb.GetProofRequestStatusRequest(request_id=_b32(request_id, "request id"))
        return self._retry(
            lambda: self._call("GetProofRequestStatus", req, pb.GetProofRequestStatusResponse),
            "GetProofRequestStatus",
        )

    def _poll_once(self, rid: bytes) -> tuple[pb.GetProofRequestStatusResponse, Optional[bytes]]:
        """Status, then the proof download when FULFILLED (§1.3 step 11)."""
        req = pb.GetProofRequestStatusRequest(request_id=rid)
        st = self._call("GetProofRequestStatus", req, pb.GetProofRequestStatusResponse)
        outcome.check_status_enums(self.profile, st.fulfillment_status, st.execution_status)
        if st.fulfillment_status != pb.FULFILLED:
            return st, None
        if not st.HasField("proof_uri"):
            raise ProtocolError("No proof URI provided")
        proof = self.download(st.proof_uri)
        check_proof_bytes(proof)
        return st, proof

    def wait_proof(
        self,
        request_id: bytes | str,
        timeout: Optional[float] = None,
        poll_interval: float = POLL_INTERVAL_SECS,
        on_poll: Optional[Callable[[bytes, pb.GetProofRequestStatusResponse], None]] = None,
    ) -> bytes:
        """Poll until terminal (§1.3 C); returns bincode(ProofFromNetwork) as downloaded.

        Raises RequestTimedOut / RequestUnexecutable / RequestUnfulfillable (and, for 6.x,
        RequestReverted / RequestExpired) in the profile's §6.1 order. `on_poll(request_id,
        status)` sees each status that is still pending (a progress display).
        """
        rid, start, announced = _b32(request_id, "request id"), self._monotonic(), False
        while True:
            elapsed = self._monotonic() - start
            if timeout is not None and elapsed > timeout:
                raise RequestTimedOut(rid)
            budget = None if timeout is None else timeout - elapsed
            st, proof = self._retry(lambda: self._poll_once(rid), "GetProofRequestStatus", budget)
            verdict = outcome.decide(
                self.profile.outcome_order, st.fulfillment_status, st.execution_status,
                st.deadline, int(self._clock()),
            )
            if verdict is outcome.Verdict.FULFILLED:
                return proof
            if verdict is not outcome.Verdict.PENDING:
                raise outcome.VERDICT_ERRORS[verdict](rid)
            if st.fulfillment_status == pb.ASSIGNED and not announced:
                log.info("Proof request assigned, proving...")
                announced = True
            if on_poll is not None:
                on_poll(rid, st)
            self._sleep(poll_interval)

    def prove(
        self,
        vk_hash: bytes | str,
        vk: bytes,
        elf: Data,
        stdin: Data | bincode.SP1Stdin,
        mode: int | str | ProofMode = ProofMode.CORE,
        *,
        timeout_secs: Optional[int] = None,
        on_poll: Optional[Callable[[bytes, pb.GetProofRequestStatusResponse], None]] = None,
        **request_kwargs: Any,
    ) -> bytes:
        """register_program + request_proof + wait_proof, as ``client.prove(..).run()``.

        ``timeout_secs`` (like the builder's ``.timeout``) sets the request deadline and
        bounds the wait; without it the deadline is 4 h and the wait is unbounded (§6.2).
        """
        if request_kwargs.get("strategy", pb.HOSTED) not in (pb.HOSTED, pb.RESERVED):
            raise ValueError("strategy must be HOSTED or RESERVED in Reserved mode")
        self.register_program(vk_hash, vk, elf)
        rid = self.request_proof(
            vk_hash, stdin, mode, timeout_secs=timeout_secs or DEFAULT_TIMEOUT_SECS, **request_kwargs
        )
        return self.wait_proof(rid, timeout=timeout_secs, on_poll=on_poll)

    # --- details and listing (§2.6) ----------------------------------------------------------

    def get_proof_request_details(self, request_id: bytes | str) -> Optional[pb.ProofRequest]:
        req = pb.GetProofRequestDetailsRequest(request_id=_b32(request_id, "request id"))
        resp = self._retry(
            lambda: self._call("GetProofRequestDetails", req, pb.GetProofRequestDetailsResponse),
            "GetProofRequestDetails",
        )
        return resp.request if resp.HasField("request") else None

    def get_filtered_proof_requests(self, **filters: Any) -> list[pb.ProofRequest]:
        """Filters are GetFilteredProofRequestsRequest fields (``from_`` for ``from``); enums
        take names or numbers, bytes take bytes or hex."""
        req = build_filter_request(filters)
        resp = self._retry(
            lambda: self._call("GetFilteredProofRequests", req, pb.GetFilteredProofRequestsResponse),
            "GetFilteredProofRequests",
        )
        return list(resp.requests)


def _check_request_response(resp: pb.RequestProofResponse) -> bytes:
    """§5.1-§5.3, in the SDK's order: tx_hash, body presence, request_id."""
    if len(resp.tx_hash) != 32:
        raise ProtocolError(
            f"RequestProof returned a {len(resp.tx_hash)}-byte tx_hash, expected 32 (sp1-sdk would panic)"
        )
    if not resp.HasField("body"):
        raise ProtocolError("RequestProof returned no body (sp1-sdk would panic)")
    rid = resp.body.request_id
    if len(rid) != 32:
        raise ProtocolError(
            f"RequestProof returned a {len(rid)}-byte request id, expected 32 (sp1-sdk would panic)"
        )
    log.info("Created request 0x%s in transaction 0x%s", rid.hex(), resp.tx_hash.hex())
    return bytes(rid)


def proof_version(data: bytes) -> Optional[str]:
    """The trailing ``sp1_version`` string of a ProofFromNetwork (§4.6), or None."""
    for n in range(1, 65):
        if len(data) < 4 + 8 + n:
            break
        if int.from_bytes(data[-n - 8:-n], "little") == n:
            try:
                return data[-n:].decode("utf-8")
            except UnicodeDecodeError:
                return None
    return None


def check_proof_bytes(data: bytes) -> None:
    """A light stand-in for the SDK's bincode decode (§4.4): SP1Proof tag 0-3 first,
    ``sp1_version`` string last. Failure is permanent ("Failed to deserialize proof")."""
    if len(data) < 4 or int.from_bytes(data[:4], "little") > 3 or proof_version(data) is None:
        raise ProtocolError(f"Failed to deserialize proof ({len(data)} bytes)")


def build_filter_request(filters: dict[str, Any]) -> pb.GetFilteredProofRequestsRequest:
    """GetFilteredProofRequestsRequest from keyword filters (see get_filtered_proof_requests)."""
    desc = pb.GetFilteredProofRequestsRequest.DESCRIPTOR
    values = {}
    for key, value in filters.items():
        if value is None:
            continue
        name = key.rstrip("_")
        field = desc.fields_by_name.get(name)
        if field is None:
            raise ValueError(f"unknown filter {key!r} (known: {', '.join(f.name for f in desc.fields)})")
        values[name] = _filter_value(field, value)
    return pb.GetFilteredProofRequestsRequest(**values)


def _filter_value(field: Any, value: Any) -> Any:
    if field.enum_type is not None:
        if isinstance(value, str):
            return _enum_number(field.enum_type, value)
        return int(value)
    if field.type == field.TYPE_BYTES and isinstance(value, str):
        return bytes.fromhex(value[2:] if value[:2] in ("0x", "0X") else value)
    return value


def _enum_number(enum_type: Any, name: str) -> int:
    by_name = {v.name: v.number for v in enum_type.values}
    key = name.strip().upper().replace("-", "_")
    if key not in by_name:
        known = ", ".join(n.lower() for n in by_name)
        raise ValueError(f"unknown {enum_type.name} {name!r} (known: {known})")
    return by_name[key]
