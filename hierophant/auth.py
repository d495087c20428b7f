"""Client authentication by signature (sdk-network-contract.md §3).

`none` checks and records nothing; `verify` requires a valid signature and records the
signer as requester; `allowlist` also requires the signer to be listed. Recovery uses the
raw received bytes and normalises v itself (§3.3). It runs on gRPC threads (CPU work, no
shared state), never on the reactor. `bearer_ok` checks the HTTP bearer tokens (worker_token,
admin_token) on the reactor.
"""
from __future__ import annotations

import hmac

import grpc

from hierophant.errors import RpcError
from network_lib.signing import SignatureError, address_hex, parse_address, recover_signer

CREATE_ARTIFACT_MESSAGE = b"create_artifact"   # §3.1: a constant, replayable token
# Which v bytes each kind of signature may carry (§3.2 table).
BODY_V = frozenset({0, 1, 27, 28})
ARTIFACT_V = frozenset({27, 28, 54, 55})


def bearer_ok(request, token: str) -> bool:
    """Does an HTTP request carry `Authorization: Bearer <token>`? (constant-time compare)"""
    header = request.getHeader(b"authorization") or b""
    return hmac.compare_digest(header, b"Bearer " + token.encode())


class Auth:
    def __init__(self, mode: str, allowlist: tuple[str, ...] = ()) -> None:
        self.mode = mode
        self.allowlist = frozenset(parse_address(a) for a in allowlist)

    @property
    def checks_nonces(self) -> bool:
        return self.mode != "none"

    def artifact_signer(self, signature: bytes) -> bytes:
        return self._signer(CREATE_ARTIFACT_MESSAGE, signature, ARTIFACT_V, "CreateArtifact")

    def body_signer(self, body: bytes, signature: bytes, what: str) -> bytes:
        return self._signer(body, signature, BODY_V, what)

    def _signer(self, message: bytes, signature: bytes, allowed_v: frozenset, what: str) -> bytes:
        """The 20-byte requester, or b"" in mode none. Raises RpcError when refused."""
        if self.mode == "none":
            return b""
        if len(signature) == 65 and signature[64] not in allowed_v:
            raise RpcError(grpc.StatusCode.UNAUTHENTICATED,
                           f"{what} signature has v={signature[64]}, expected one of {sorted(allowed_v)}")
        try:
            signer = recover_signer(message, signature)
        except SignatureError as e:
            raise RpcError(grpc.StatusCode.UNAUTHENTICATED, f"{what} signature is invalid: {e}") from None
        if self.mode == "allowlist" and signer not in self.allowlist:
            raise RpcError(grpc.StatusCode.PERMISSION_DENIED,
                           f"{address_hex(signer)} is not on this network's auth.allowlist")
        return signer
