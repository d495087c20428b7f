#!/usr/bin/env python3
"""Coordinator overhead per proof, with an instant prover, against a real hierophant.

Starts `twistd -n hierophant` (throw-away data_dir, default scheduler settings, log_level
info) and ONE simulated contemplant (bench/_simworkers.py: the real worker protocol; GETs the
inputs and PUTs a mock proof at once). Then, one request at a time (the queue is empty, the
worker idle), it measures:

  - request -> job: RequestProof returned to the client -> the `job` message read by the
    worker (the request's store commit, placement, the assignment's commit, the frame);
  - proof -> FULFILLED: the worker starts the proof PUT -> a GetProofRequestStatus issued
    after the PUT's 200 returns FULFILLED (the check, the proof's and the request's commits,
    the 200, one status RPC);

and, side by side in the same run against the same process, the floors they contain:
  - a bare RPC: GetNonce round trip (what a status poll costs at least);
  - a bare commit + RPC: CreateArtifact (one store commit) round trip;
  - a bare PUT: an artifact upload of the proof's size answered 200 (one commit).

    .venv/bin/python bench/overhead_bench.py            # 300 proofs
    .venv/bin/python bench/overhead_bench.py --quick    # 50 proofs

Target: p99 < 20 ms for each overhead. Exit status 0 whenever the measurement ran.
"""
from __future__ import annotations

import argparse
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _harness as h  # noqa: E402
from scheduler_bench import BenchHierophant, RequestMaker, percentile, verdict  # noqa: E402

TARGET_P99_MS = 20.0
WORKER_TOKEN = "bench-worker-token"


class Events:
    """Job and PUT events from the reactor thread, awaited by the measuring thread."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.jobs: dict[str, float] = {}
        self.puts: dict[str, tuple[float, float, int]] = {}

    def on_job(self, job, t: float) -> None:
        with self.cond:
            self.jobs[job.request_id] = t
            self.cond.notify_all()

    def on_put(self, job, t0: float, t1: float, code: int) -> None:
        with self.cond:
            self.puts[job.request_id] = (t0, t1, code)
            self.cond.notify_all()

    def wait(self, table: dict, key: str, timeout: float = 30.0):
        with self.cond:
            if not self.cond.wait_for(lambda: key in table, timeout):
                raise RuntimeError(f"no event for {key[:18]} within {timeout:g} s")
            return table.pop(key)


def summary(name: str, xs: list[float], target: float | None = None) -> str:
    ms = [x * 1000 for x in xs]
    p50, p99 = percentile(ms, 50), percentile(ms, 99)
    tail = f" (target p99 < {target:g}) {verdict(p99 < target)}" if target else ""
    return f"{name} p50={p50:.2f} p99={p99:.2f} max={max(ms):.2f} n={len(ms)}{tail}"


def measure(maker: RequestMaker, events: Events, n: int, proof_size: int) -> dict[str, list[float]]:
    pb, apb = maker.pb, maker.apb
    out: dict[str, list[float]] = {k: [] for k in ("request_to_job", "proof_to_fulfilled", "rpc", "commit_rpc", "put")}
    address = bytes(20)
    for i in range(n):
        # The floors, measured between the proofs, against the same process.
        t0 = time.perf_counter()
        maker.net.GetNonce(pb.GetNonceRequest(address=address), timeout=30)
        out["rpc"].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        art = maker.art.CreateArtifact(apb.CreateArtifactRequest(signature=h.NO_SIGNATURE, artifact_type=2),
                                       timeout=30)
        out["commit_rpc"].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        maker._put(art.artifact_presigned_url, bytes(proof_size))
        out["put"].append(time.perf_counter() - t0)
        # One proof.
        rid = maker.one(10_000 + i)
        returned = time.perf_counter()
        key = "0x" + rid.hex()
        got_job = events.wait(events.jobs, key)
        out["request_to_job"].append(got_job - returned)
        put_start, _, code = events.wait(events.puts, key)
        if code != 200:
            raise RuntimeError(f"proof PUT answered {code}")
        status = maker.net.GetProofRequestStatus(pb.GetProofRequestStatusRequest(request_id=rid), timeout=30)
        visible = time.perf_counter()
        if status.fulfillment_status != pb.FULFILLED:
            raise RuntimeError(f"status after the proof's 200 is {status.fulfillment_status}, not FULFILLED")
        out["proof_to_fulfilled"].append(visible - put_start)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--proofs", type=int, default=300)
    ap.add_argument("--quick", action="store_true", help="50 proofs")
    ap.add_argument("--warmup", type=int, default=10)
    args = ap.parse_args()
    if args.quick:
        args.proofs = 50
    with h.session() as children:
        from twisted.internet import reactor, threads

        from _simworkers import Fleet
        from network_lib.mockproof import mock_proof
        hiero = BenchHierophant(children, children.tempdir("overhead-bench-"), "info", None)
        hiero.start()
        maker = RequestMaker(hiero.grpc_target, 1)
        children.at_close(maker.close)
        proof_size = len(mock_proof(1, "v6.1.0", maker.vk_hash, b"", b"bench-vk"))
        events = Events()
        fleet = Fleet(reactor, 1, f"ws://{h.LOOPBACK}:{hiero.http_port}/ws", WORKER_TOKEN, ramp=1)
        fleet.on_job, fleet.on_put = events.on_job, events.on_put
        result: dict = {}

        def run():
            measure(maker, events, args.warmup, proof_size)
            return measure(maker, events, args.proofs, proof_size)

        def go(_):
            d = threads.deferToThread(run)
            d.addCallback(result.update)
            d.addErrback(lambda f: result.update(error=f))
            d.addBoth(lambda _: fleet.close().addBoth(lambda _: reactor.stop()))

        reactor.callWhenRunning(lambda: fleet.connect().addCallback(go))
        reactor.run()
        if "error" in result:
            result["error"].raiseException()
        print(f"# hierophant pid {hiero.pid}, log_level info, 1 simulated worker; {args.proofs} proofs one at a "
              f"time after {args.warmup} warm-up; {os.cpu_count()} CPUs shared with the load generator")
        print("coordinator_overhead_ms " + summary("request_to_job", result["request_to_job"], TARGET_P99_MS))
        print("coordinator_overhead_ms " + summary("proof_to_fulfilled", result["proof_to_fulfilled"], TARGET_P99_MS))
        print("# baselines in the same run: " + summary("bare_rpc(GetNonce)", result["rpc"]) + "; "
              + summary("commit_rpc(CreateArtifact)", result["commit_rpc"]) + "; "
              + summary(f"artifact_put({proof_size}B)", result["put"]))
        r2j, base = percentile(result["request_to_job"], 50), percentile(result["commit_rpc"], 50)
        p2f = percentile(result["proof_to_fulfilled"], 50) / percentile(result["put"], 50)
        print(f"# request_to_job p50 is {r2j / base:.1f}x a bare commit+RPC; proof_to_fulfilled p50 is "
              f"{p2f:.1f}x a bare artifact PUT")
        return 0
    return 130          # interrupted; h.session() stopped everything


if __name__ == "__main__":
    sys.exit(main())
