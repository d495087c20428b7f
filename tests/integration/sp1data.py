"""Synthetic SP1 inputs for integration tests (no ../shared needed)."""
from __future__ import annotations

import struct

from network_lib.bincode import SP1Stdin
from tests.executor_elfs import V6_BASE, Asm, program_elf

# Anvil's well-known test keys (#0 is TV1 of sdk-network-contract.md §3.4).
KEY0 = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
ADDR0 = bytes.fromhex("f39fd6e51aad88f6f4ce6ab8827279cfffb92266")
KEY1 = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
ADDR1 = bytes.fromhex("70997970c51812dc3a010c7d01b50e0d17dc79c8")
U64_MAX = (1 << 64) - 1


HALT, WRITE, HINT_READ = 0, 2, 0xF1
DATA = V6_BASE + 0x10_0000


def elf(tag: bytes = b"") -> bytes:
    """A real SP1 v6 guest (hand-assembled): it reads its first 8-byte input and commits it
    as its public values, then halts with 0. `tag` makes distinct programs."""
    a = Asm().syscall(HINT_READ, DATA, 8).syscall(WRITE, 13, DATA, 8).syscall(HALT, 0)
    return program_elf(a, bytes(4096) + tag, data_addr=DATA)


def panicking_elf() -> bytes:
    """A guest that halts with exit code 1, as a Rust panic does."""
    return program_elf(Asm().syscall(HALT, 1), bytes(64), data_addr=DATA)


def looping_elf() -> bytes:
    """A guest that never halts (for cycle limits)."""
    return program_elf(Asm().label("top").addi("a5", "a5", 1).j("top"), bytes(64), data_addr=DATA)


def public_values(*values: int) -> bytes:
    """What `elf()` commits for `stdin(*values)`."""
    return struct.pack("<Q", values[0])


def vk_hash(n: int) -> bytes:
    """The 8-big-endian-u32-words form SDK 5.0.8+/6.x send (§5 note); words < 2^31."""
    return b"".join(struct.pack(">I", n + i) for i in range(8))


def vk() -> bytes:
    return bytes(range(104))


def stdin(*values: int) -> bytes:
    return SP1Stdin([struct.pack("<Q", v) for v in values]).encode()
