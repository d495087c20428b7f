"""sp1-sdk-compatible prover-network client (sdk-network-contract.md).

Blocking, Twisted-free; usable from any Python::

    from network_lib.client import NetworkClient
    with NetworkClient("http://127.0.0.1:9000", private_key, profile="6.x") as c:
        proof = c.prove(vk_hash, vk, elf, stdin, "plonk")
"""

from network_lib.client.errors import (
    ClientError,
    DownloadError,
    HttpStatusError,
    MissingKeyError,
    ProtocolError,
    RequestExpired,
    RequestFailed,
    RequestReverted,
    RequestTimedOut,
    RequestUnexecutable,
    RequestUnfulfillable,
    RpcError,
    TransportError,
)
from network_lib.client.network import NetworkClient, proof_version
from network_lib.client.profiles import PROFILES, OutcomeOrder, Profile, get_profile

__all__ = [
    "ClientError",
    "DownloadError",
    "HttpStatusError",
    "MissingKeyError",
    "NetworkClient",
    "OutcomeOrder",
    "PROFILES",
    "Profile",
    "ProtocolError",
    "RequestExpired",
    "RequestFailed",
    "RequestReverted",
    "RequestTimedOut",
    "RequestUnexecutable",
    "RequestUnfulfillable",
    "RpcError",
    "TransportError",
    "get_profile",
    "proof_version",
]
