"""Shared plumbing of the bench scripts: free ports, child processes, a throw-away hierophant.

Everything listens on 127.0.0.1 only. Children run in their own session and are stopped
(SIGTERM, then SIGKILL) by `Children.close()`, which the scripts call from `finally`, so
Ctrl-C and SIGTERM clean up too.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
LOOPBACK = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def sigterm_as_interrupt() -> None:
    """Treat SIGTERM like Ctrl-C so `finally` blocks clean up."""
    def handler(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, handler)


@contextlib.contextmanager
def session():
    """A bench's `Children`, all stopped and removed however the block ends. Ctrl-C or SIGTERM
    inside it ends the block quietly: the code after the `with` runs (the bench returns 130)."""
    sigterm_as_interrupt()
    children = Children()
    try:
        yield children
    except KeyboardInterrupt:
        print("interrupted; cleaning up", file=sys.stderr)
    finally:
        children.close()


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def verdict(ratio: float, target: float) -> str:
    return "PASS" if ratio >= target else "MISS"


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Children:
    """Child processes and temp dirs to tear down, in reverse order."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen] = []
        self.dirs: list[Path] = []
        self.closers: list = []

    def at_close(self, fn) -> None:
        """Call `fn()` on close, after the processes stopped (the last one added first)."""
        self.closers.append(fn)

    def tempdir(self, prefix: str) -> Path:
        d = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
        self.dirs.append(d)
        return d

    def spawn(self, argv, **kw) -> subprocess.Popen:
        p = subprocess.Popen(argv, start_new_session=True, **kw)
        self.procs.append(p)
        return p

    @staticmethod
    def stop(p: subprocess.Popen, timeout: float = 10.0) -> None:
        if p.poll() is None:
            try:
                p.send_signal(signal.SIGTERM)
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
            except ProcessLookupError:
                pass

    def close(self) -> None:
        for p in reversed(self.procs):
            self.stop(p)
        self.procs.clear()
        while self.closers:
            self.closers.pop()()
        for d in reversed(self.dirs):
            shutil.rmtree(d, ignore_errors=True)
        self.dirs.clear()


def wait_http_ok(url: str, proc: subprocess.Popen, timeout: float = 30.0, what: str = "server") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with status {proc.returncode} before it was ready")
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{what} not ready at {url} after {timeout:.0f} s")


class Hierophant:
    """A real `twistd -n hierophant` on free loopback ports with its data_dir in a temp dir."""

    def __init__(self, children: Children, root: Path, grpc_threads: int = 32,
                 max_artifact_bytes: int = 2 << 30, max_decompressed_bytes: int = 4 << 30,
                 extra_toml: str = "", env: dict | None = None) -> None:
        """`extra_toml` is appended to the config (e.g. [store] / [artifacts] tables), `env`
        added to the environment (e.g. S3 credentials)."""
        self.children = children
        self.env = dict(env or {})
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.data_dir = root / "data"
        self.grpc_port = free_port()
        self.http_port = free_port()
        self.public_url = f"http://{LOOPBACK}:{self.http_port}"
        self.config = root / "hierophant.toml"
        self.log = root / "twistd.log"
        self.config.write_text(f"""\
grpc_port = {self.grpc_port}
http_port = {self.http_port}
bind_address = "{LOOPBACK}"
public_url = "{self.public_url}"
data_dir = "{self.data_dir}"
worker_token = "bench-worker-token"
log_level = "warn"
grpc_threads = {grpc_threads}

[auth]
mode = "none"

[limits]
max_artifact_bytes = {max_artifact_bytes}
max_decompressed_bytes = {max_decompressed_bytes}

[execution]
# The benches register a placeholder ELF, not a runnable guest: executing it would end
# their requests (and measure the executor, which bench/executor_bench.py does).
enabled = false

[verification]
# The simulated workers return the SDK mock prover's proofs (issue 10: refused by default).
accept_mock_proofs = true
""" + extra_toml)
        self.proc: subprocess.Popen | None = None

    @property
    def grpc_target(self) -> str:
        return f"{LOOPBACK}:{self.grpc_port}"

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HIEROPHANT_")} | self.env
        log = open(self.log, "ab")
        self.proc = self.children.spawn(
            [str(VENV_BIN / "twistd"), "-n", "--pidfile=", "hierophant", "-c", str(self.config)],
            cwd=str(self.root), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
        log.close()
        try:
            wait_http_ok(f"{self.public_url}/healthz", self.proc, what="hierophant")
        except RuntimeError:
            sys.stderr.write(self.log.read_text(errors="replace")[-3000:])
            raise

    def stop(self) -> None:
        if self.proc is not None:
            Children.stop(self.proc)
            self.proc = None

    @property
    def pid(self) -> int:
        return self.proc.pid

    def vm_hwm_kib(self) -> int:
        """Peak resident set size of the hierophant main process (VmHWM), KiB."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
        raise RuntimeError("no VmHWM in /proc status")


# -- the sp1-sdk flow against the hierophant (auth mode "none": signatures unchecked) ------

NO_SIGNATURE = bytes(65)
ELF_STUB = b"\x7fELF" + bytes(60)        # only the magic is checked at upload time
EMPTY_STDIN = bytes(24)                   # bincode(SP1Stdin) with empty buffer/proofs


def http_put(url: str, data: bytes) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=data, method="PUT")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def create_artifact(channel, kind: int):
    """CreateArtifact -> (artifact_uri, presigned upload URL)."""
    from network_lib.proto import artifact_pb2, artifact_pb2_grpc
    stub = artifact_pb2_grpc.ArtifactStoreStub(channel)
    resp = stub.CreateArtifact(artifact_pb2.CreateArtifactRequest(
        signature=NO_SIGNATURE, artifact_type=kind), timeout=30)
    return resp.artifact_uri, resp.artifact_presigned_url


def upload(channel, kind: int, data: bytes) -> str:
    uri, url = create_artifact(channel, kind)
    code, body = http_put(url, data)
    if code != 200:
        raise RuntimeError(f"upload of a kind-{kind} artifact answered {code}: {body!r}")
    return uri


def create_request(target: str) -> bytes:
    """Program + stdin upload, CreateProgram, RequestProof; returns the request id."""
    import grpc
    from network_lib.proto import network_pb2 as pb, network_pb2_grpc
    with grpc.insecure_channel(target) as channel:
        grpc.channel_ready_future(channel).result(timeout=30)
        program_uri = upload(channel, 1, len(ELF_STUB).to_bytes(8, "little") + ELF_STUB)
        stdin_uri = upload(channel, 2, EMPTY_STDIN)
        stub = network_pb2_grpc.ProverNetworkStub(channel)
        vk_hash = random_vk_hash()
        stub.CreateProgram(pb.CreateProgramRequest(
            format=0, signature=NO_SIGNATURE,
            body=pb.CreateProgramRequestBody(nonce=0, vk_hash=vk_hash, vk=b"bench-vk", program_uri=program_uri)),
            timeout=30)
        resp = stub.RequestProof(pb.RequestProofRequest(
            format=0, signature=NO_SIGNATURE,
            body=pb.RequestProofRequestBody(
                nonce=1, vk_hash=vk_hash, version="sp1-v6.1.0", mode=1, strategy=0,
                stdin_uri=stdin_uri, deadline=int(time.time()) + 3600)), timeout=30)
        return resp.body.request_id


def random_vk_hash() -> bytes:
    """A fresh vk hash in the word form SDK 5.0.6+ and 6.x send (eight big-endian u32 words,
    each below 2^31; sdk-network-contract.md §5): CreateProgram refuses any other."""
    return b"".join((int.from_bytes(os.urandom(4), "big") >> 1).to_bytes(4, "big") for _ in range(8))
