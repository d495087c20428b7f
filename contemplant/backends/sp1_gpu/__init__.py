"""`backend = "sp1-gpu"`: SP1 v6 `sp1-gpu-server` over its Unix socket (prover-backends.md §1).

wire.py      framing + exact Request/Response bincode (§1.2-§1.6)
client.py    one persistent Twisted UNIX connection, replies in order
server.py    `--version` handshake, the spawned process, pid records and stray reaping
gpu.py       one GPU: server + connection + per-connection Setup cache, restarts, cancel
progress.py  progress from the server's log lines (§1.9)
circuits.py  which Plonk/Groth16 circuits are installed (§1.10)
backend.py   the Backend: capabilities, one slot per GPU
"""
from contemplant.backends.sp1_gpu.backend import Sp1GpuBackend

__all__ = ["Sp1GpuBackend"]
