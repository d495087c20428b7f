"""EIP-191 signatures as the SP1 SDK makes them (sdk-network-contract.md §3).

Wire form: 65 bytes ``r (32, BE) ‖ s (32, BE) ‖ v``, where ``v`` is ``parity``,
``27 + parity`` or ``54 + parity`` depending on SDK version and call (§3.2 table).
Recovery uses libsecp256k1 through ``coincurve``; keccak comes from pycryptodome.
"""

from __future__ import annotations

from network_lib.hexutil import fixed_bytes

from enum import IntEnum

from Crypto.Hash import keccak
from coincurve import PrivateKey, PublicKey

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
SIGNATURE_LEN = 65
CREATE_ARTIFACT_MESSAGE = b"create_artifact"  # §3.1
_EIP191_PREFIX = b"\x19Ethereum Signed Message:\n"


class SignatureError(ValueError):
    """A signature that is malformed or from which no signer can be recovered."""


class VStyle(IntEnum):
    """How an SDK writes ``v``; the value is the offset added to the parity (§3.2)."""

    PARITY = 0  # 5.0/5.1 body signatures
    ETHEREUM = 27  # 5.0/5.1 create_artifact; 5.2+/6.x body signatures
    DOUBLE = 54  # 5.2+/6.x create_artifact


def keccak256(data: bytes) -> bytes:
    return keccak.new(digest_bits=256, data=data).digest()


def eip191_hash(message: bytes) -> bytes:
    """keccak256(0x19 ‖ "Ethereum Signed Message:\\n" ‖ decimal(len(m)) ‖ m) (§3.2, 2)."""
    return keccak256(_EIP191_PREFIX + str(len(message)).encode("ascii") + message)


def normalize_v(v: int) -> int:
    """Parity (0/1) of a wire ``v``; only {0,1,27,28,54,55} are accepted (§3.3)."""
    for offset in VStyle:
        if v - offset in (0, 1):
            return v - offset
    raise SignatureError(f"invalid signature v byte {v} (expected 0, 1, 27, 28, 54 or 55)")


def _split(signature: bytes) -> tuple[int, int, int]:
    if len(signature) != SIGNATURE_LEN:
        raise SignatureError(f"signature must be {SIGNATURE_LEN} bytes, got {len(signature)}")
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:64], "big")
    parity = normalize_v(signature[64])
    for name, x in (("r", r), ("s", s)):
        if not 0 < x < SECP256K1_N:
            raise SignatureError(f"signature {name} is out of range")
    return r, s, parity


def recover_public_key(message: bytes, signature: bytes) -> bytes:
    """The 64-byte uncompressed public key (without 0x04) that signed ``message``.

    High-s signatures are accepted: (r, s, p) and (r, n - s, 1 - p) recover the same key,
    so accepting both admits no forgery (alloy normalises s before recovering, too).
    """
    r, s, parity = _split(bytes(signature))
    compact = r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes((parity,))
    try:
        pub = PublicKey.from_signature_and_message(compact, eip191_hash(message), hasher=None)
    except Exception as e:  # coincurve raises plain Exception on failed recovery
        raise SignatureError(f"cannot recover a public key from the signature: {e}") from None
    return pub.format(compressed=False)[1:]


def public_key_to_address(public_key64: bytes) -> bytes:
    """Last 20 bytes of keccak256 of the 64-byte public key (§3.2 step 5)."""
    return keccak256(public_key64)[12:]


def recover_signer(message: bytes, signature: bytes) -> bytes:
    """20-byte address of the EIP-191 signer of ``message``; SignatureError otherwise."""
    return public_key_to_address(recover_public_key(message, signature))


def _private_key(private_key: bytes | str) -> PrivateKey:
    if isinstance(private_key, str):
        h = private_key[2:] if private_key[:2] in ("0x", "0X") else private_key
        try:
            private_key = bytes.fromhex(h)
        except ValueError:
            raise SignatureError("private key is not hex") from None
    if len(private_key) != 32 or not 0 < int.from_bytes(private_key, "big") < SECP256K1_N:
        raise SignatureError("private key must be 32 bytes in [1, n)")
    return PrivateKey(bytes(private_key))


def private_key_to_address(private_key: bytes | str) -> bytes:
    """20-byte address of a private key (32 bytes or hex with optional 0x)."""
    pub = _private_key(private_key).public_key.format(compressed=False)[1:]
    return public_key_to_address(pub)


def sign(
    message: bytes, private_key: bytes | str, v_style: VStyle | int = VStyle.ETHEREUM
) -> bytes:
    """EIP-191 sign (RFC 6979, low-s) and write ``v = v_style + parity``."""
    style = VStyle(v_style)
    sig = _private_key(private_key).sign_recoverable(eip191_hash(message), hasher=None)
    if sig[64] > 1:  # recid 2/3 (r >= n) never happens in practice; the wire can't carry it
        raise SignatureError("unrepresentable recovery id")
    return sig[:64] + bytes((style + sig[64],))


def address_hex(addr20: bytes) -> str:
    """EIP-55 checksummed ``0x`` address."""
    if len(addr20) != 20:
        raise ValueError(f"address must be 20 bytes, got {len(addr20)}")
    h = addr20.hex()
    digest = keccak256(h.encode("ascii")).hex()
    return "0x" + "".join(c.upper() if int(d, 16) >= 8 else c for c, d in zip(h, digest))


def parse_address(text: str) -> bytes:
    """20 raw bytes from ``0x``-prefixed (or bare) hex; the checksum is not enforced."""
    try:
        return fixed_bytes(text, 20, f"address {text!r}")
    except ValueError as e:
        raise ValueError(f"invalid address {text!r}: {e}") from None
