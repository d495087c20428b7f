"""Synthetic SP1 inputs for integration tests (no ../shared needed)."""
from __future__ import annotations

import struct

from network_lib.bincode import SP1Stdin

# Anvil's well-known test keys (#0 is TV1 of sdk-network-contract.md §3.4).
KEY0 = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
ADDR0 = bytes.fromhex("f39fd6e51aad88f6f4ce6ab8827279cfffb92266")
KEY1 = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
ADDR1 = bytes.fromhex("70997970c51812dc3a010c7d01b50e0d17dc79c8")
U64_MAX = (1 << 64) - 1


def elf(tag: bytes = b"") -> bytes:
    """A tiny file with the ELF magic: enough for registration (not executable)."""
    return b"\x7fELF\x02\x01\x01" + b"\0" * 57 + tag


def vk_hash(n: int) -> bytes:
    """The 8-big-endian-u32-words form SDK 5.0.8+/6.x send (§5 note); words < 2^31."""
    return b"".join(struct.pack(">I", n + i) for i in range(8))


def vk() -> bytes:
    return bytes(range(104))


def stdin(*values: int) -> bytes:
    return SP1Stdin([struct.pack("<Q", v) for v in values]).encode()
