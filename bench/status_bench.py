#!/usr/bin/env python3
"""GetProofRequestStatus throughput of a real hierophant, as a ratio to a bare grpcio server.

Starts `twistd -n hierophant` (throw-away data_dir, auth mode "none") on free loopback
ports, creates one real proof request through the sp1-sdk flow, and records the serialized
GetProofRequestStatusResponse it answers. A baseline process then serves exactly those
bytes from a bare grpcio server (same server options, same handler thread count, raw-bytes
handler). Both are loaded by the identical client: `--callers` concurrent callers spread
over `--client-procs` processes using grpc.aio, each caller on its own channel (own
connection), like separate SDK clients. Runs alternate hierophant / baseline and the
medians are compared, so machine noise hits both sides alike.

    .venv/bin/python bench/status_bench.py            # ~40 s
    .venv/bin/python bench/status_bench.py --rounds 5 --duration 5

Prints `status_rps hierophant=... baseline=... ratio=... (target >= 0.6) PASS|MISS`.
Exit status is 0 whenever the measurement itself ran (a MISS is a result, not an error).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _harness as h  # noqa: E402

METHOD = "/network.ProverNetwork/GetProofRequestStatus"
TARGET_RATIO = 0.6


# -- baseline server (child process) ------------------------------------------------------
def serve_baseline(port: int, threads: int, response_hex: str) -> None:
    from concurrent import futures

    import grpc

    from hierophant.grpc_server import SERVER_OPTIONS

    response = bytes.fromhex(response_hex)

    def handler(raw: bytes, context) -> bytes:
        return response

    server = grpc.server(futures.ThreadPoolExecutor(threads, thread_name_prefix="grpc"),
                         handlers=[grpc.method_handlers_generic_handler(
                             "network.ProverNetwork",
                             {"GetProofRequestStatus": grpc.unary_unary_rpc_method_handler(handler)})],
                         options=SERVER_OPTIONS, maximum_concurrent_rpcs=None)
    if not server.add_insecure_port(f"{h.LOOPBACK}:{port}"):
        raise SystemExit(f"baseline: cannot bind port {port}")
    server.start()
    print("ready", flush=True)
    try:
        sys.stdin.read()         # parent closes stdin (or dies) -> stop
    except KeyboardInterrupt:
        pass
    server.stop(0)


# -- load client (child process) ----------------------------------------------------------
def run_client(target: str, request_hex: str, callers: int, expect_hex: str) -> None:
    import asyncio

    import grpc

    request, expect = bytes.fromhex(request_hex), bytes.fromhex(expect_hex)

    async def main():
        channels = [grpc.aio.insecure_channel(target, options=[("grpc.use_local_subchannel_pool", 1)])
                    for _ in range(callers)]
        calls = [ch.unary_unary(METHOD) for ch in channels]
        for c in calls:                              # connect + first call, checks the answer
            got = await c(request, timeout=10)
            if got != expect:
                raise SystemExit(f"client: unexpected response {got.hex()}")
        window = {"start": float("inf"), "end": float("inf")}
        counts = [0] * callers
        errors = [0] * callers

        async def caller(i: int):
            call = calls[i]
            while True:
                try:
                    await call(request, timeout=10)
                    ok = True
                except grpc.aio.AioRpcError:
                    ok = False
                t = time.time()
                if t >= window["end"]:
                    return
                if t >= window["start"]:
                    if ok:
                        counts[i] += 1
                    else:
                        errors[i] += 1

        tasks = [asyncio.create_task(caller(i)) for i in range(callers)]
        print("ready", flush=True)
        line = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        start, end = map(float, line.split())
        window["start"], window["end"] = start, end
        await asyncio.gather(*tasks)
        for ch in channels:
            await ch.close()
        print(json.dumps({"ok": sum(counts), "errors": sum(errors)}), flush=True)

    asyncio.run(main())


# -- parent -------------------------------------------------------------------------------
def measure(children: h.Children, target: str, request: bytes, expect: bytes, args,
            server_pid: int) -> tuple[float, int, float]:
    """One timed run of the standard client against `target`: (calls/s, errors, server CPU %)."""
    per = [args.callers // args.client_procs + (1 if i < args.callers % args.client_procs else 0)
           for i in range(args.client_procs)]
    procs = [children.spawn([sys.executable, __file__, "--_client", target, request.hex(), str(n), expect.hex()],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) for n in per if n]
    try:
        for p in procs:
            if p.stdout.readline().strip() != "ready":
                raise RuntimeError(f"load client failed to start (status {p.wait()})")
        start = time.time() + args.warmup
        end = start + args.duration
        for p in procs:
            p.stdin.write(f"{start} {end}\n")
            p.stdin.flush()
        time.sleep(max(0.0, start - time.time()))
        cpu0 = h.cpu_seconds(server_pid)
        time.sleep(max(0.0, end - time.time()))
        cpu = (h.cpu_seconds(server_pid) - cpu0) / args.duration * 100
        ok = errors = 0
        for p in procs:
            out, _ = p.communicate(timeout=args.duration + args.warmup + 30)
            result = json.loads(out.strip().splitlines()[-1])
            ok += result["ok"]
            errors += result["errors"]
        return ok / args.duration, errors, cpu
    finally:
        for p in procs:
            h.Children.stop(p)
            children.procs.remove(p)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="Everything runs on 127.0.0.1 and stops by itself.")
    ap.add_argument("--callers", type=int, default=32, help="concurrent callers (default 32)")
    ap.add_argument("--client-procs", type=int, default=2,
                    help="client processes sharing the callers (default 2)")
    ap.add_argument("--threads", type=int, default=32,
                    help="gRPC handler threads of both servers (hierophant grpc_threads; default 32)")
    ap.add_argument("--rounds", type=int, default=3,
                    help="alternating hierophant/baseline pairs; medians are compared (default 3)")
    ap.add_argument("--duration", type=float, default=4.0, help="seconds measured per run (default 4)")
    ap.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds before each run (default 1)")
    ap.add_argument("--_serve-baseline", nargs=3, metavar=("PORT", "THREADS", "RESPONSE_HEX"), help=argparse.SUPPRESS)
    ap.add_argument("--_client", nargs=4, metavar=("TARGET", "REQ", "N", "EXPECT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args._serve_baseline:
        port, threads, resp = args._serve_baseline
        serve_baseline(int(port), int(threads), resp)
        return 0
    if args._client:
        target, req, n, expect = args._client
        run_client(target, req, int(n), expect)
        return 0
    if args.callers < 1 or args.client_procs < 1 or args.rounds < 1 or args.duration <= 0:
        ap.error("--callers, --client-procs, --rounds and --duration must be positive")

    import grpc

    from network_lib.proto import network_pb2 as pb

    with h.session() as children:
        hiero = h.Hierophant(children, children.tempdir("status-bench-"), grpc_threads=args.threads)
        hiero.start()
        request_id = h.create_request(hiero.grpc_target)
        request = pb.GetProofRequestStatusRequest(request_id=request_id).SerializeToString()
        with grpc.insecure_channel(hiero.grpc_target) as ch:
            response = ch.unary_unary(METHOD)(request, timeout=10)
        status = pb.GetProofRequestStatusResponse.FromString(response)
        print(f"# request 0x{request_id.hex()[:16]}…: fulfillment={status.fulfillment_status} "
              f"response {len(response)} bytes; {args.callers} callers in {args.client_procs} client "
              f"processes, {args.threads} server threads, {args.rounds}x{args.duration:g}s per side",
              flush=True)

        base_port = h.free_port()
        base = children.spawn([sys.executable, __file__, "--_serve-baseline", str(base_port),
                               str(args.threads), response.hex()],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        if base.stdout.readline().strip() != "ready":
            raise RuntimeError("baseline server failed to start")
        base_target = f"{h.LOOPBACK}:{base_port}"

        results = {"hierophant": [], "baseline": []}
        for i in range(args.rounds):
            for name, target, pid in (("hierophant", hiero.grpc_target, hiero.pid),
                                      ("baseline", base_target, base.pid)):
                rps, errors, cpu = measure(children, target, request, response, args, pid)
                results[name].append(rps)
                print(f"# round {i + 1} {name:10s} {rps:9.0f} calls/s  server CPU {cpu:3.0f}%"
                      + (f"  ({errors} errors)" if errors else ""), flush=True)
        hi, ba = h.median(results["hierophant"]), h.median(results["baseline"])
        ratio = hi / ba if ba else float("nan")
        print(f"status_rps hierophant={hi:.0f} baseline={ba:.0f} ratio={ratio:.2f} "
              f"(target >= {TARGET_RATIO}) {h.verdict(ratio, TARGET_RATIO)}")
        return 0
    return 130          # interrupted; h.session() stopped everything


if __name__ == "__main__":
    sys.exit(main())
