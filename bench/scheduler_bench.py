#!/usr/bin/env python3
"""Scheduler throughput, dispatch latency and idle cost of a real hierophant.

Starts `twistd -n hierophant` (throw-away data_dir, auth mode "none", default scheduler
settings) on free loopback ports, registers one program and queues `--requests` CORE proof
requests through the gRPC/HTTP API (each with its own STDIN artifact, created concurrently)
BEFORE any worker connects. Then `--workers` simulated contemplants (bench/_simworkers.py:
light Autobahn clients sharing this process's reactor; 1 slot each, modes 1-4, v6.1.0) dial
in and work as instant mock provers: per job they GET the ELF and the stdin and PUT a mock
proof, exactly over the real HTTP endpoints. Measured:

  - assignments/s: jobs received by the workers / wall time from the first job to the last
    proof PUT answered 200; all requests are then checked FULFILLED through
    GetFilteredProofRequests (none lost, none left REQUESTED/ASSIGNED/UNFULFILLABLE);
  - dispatch latency (slot free -> job sent), p50/p99, measured CLIENT-SIDE per worker as the
    time from reading its proof PUT's 200 to reading its next `job` (only while the queue is
    non-empty: a worker that gets no further job adds no sample). It includes loopback and
    this process's reactor delay, so it is an upper bound of the server-side latency;
  - the hierophant's CPU (utime+stime from /proc/<pid>/stat) while all workers sit idle and
    heartbeat at the interval the hierophant tells them (default 10 s), over `--idle-secs`;
  - beside it, in the same run and on the same CPU, the baselines (`--baselines`): the same
    number of workers heartbeating the same bytes to a server that does nothing with the frames
    (bench/_bare_ws_server.py), one with Autobahn's stock protocol (what any Autobahn server
    pays) and one with the hierophant's own frame short path (the floor of its frame path: the
    difference is the hierophant's own work per heartbeat). The machine is noisy; the ratios
    hold better than the absolute figures.

The load generator shares the machine with the hierophant, so its own CPU use is printed too.
With 2 or more CPUs the hierophant runs on the last one and the load generator on the others
(`--no-pin` to let them share), as in production, where the contemplants are other machines.
The simulated heartbeats are as long as a real one-GPU contemplant's (bench/_simworkers.py).

    .venv/bin/python bench/scheduler_bench.py            # 500 workers, 5000 requests, 30 s idle
    .venv/bin/python bench/scheduler_bench.py --quick    # 50 workers, 500 requests, 5 s idle
    .venv/bin/python bench/scheduler_bench.py --workers 5000 --requests 5000 --idle-secs 60
                                                    # issue 9: 5,000 idle workers (CPU, RSS)

Exit status is 0 whenever the measurement itself ran (a MISS is a result, not an error).
"""
from __future__ import annotations

import argparse
import http.client
import math
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _harness as h  # noqa: E402

from hierophant.config import SchedulerConfig  # noqa: E402

TARGET_RATE = 200.0          # assignments per second, at least
TARGET_P99_MS = 50.0         # dispatch latency p99, below
TARGET_IDLE_CPU = 5.0        # % of one core with idle workers heartbeating, below
WORKER_TOKEN = "bench-worker-token"      # what bench/_harness.py configures


def self_cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system


def machine_busy_seconds() -> float:
    """CPU seconds all processes of the machine spent busy so far (/proc/stat, every CPU)."""
    f = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in f[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int) -> int:
    """Resident set size of a process now (VmRSS), KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def raise_fd_limit(need: int) -> None:
    """Thousands of sockets (both ends on this machine): lift the soft RLIMIT_NOFILE to the
    hard one; the hierophant, started after, inherits it."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else max(soft, need)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    if want < need:
        print(f"# warning: RLIMIT_NOFILE hard limit {hard} < {need} sockets needed", flush=True)


def split_cpus() -> tuple[set[int], set[int]] | None:
    """(the hierophant's CPUs, the load generator's): the last usable CPU for the hierophant,
    the rest for the simulated fleet, which in production runs on other machines; sharing
    CPUs makes each disturb the other's measurement. None with fewer than 2 CPUs."""
    mine = sorted(os.sched_getaffinity(0))
    if len(mine) < 2:
        return None
    return {mine[-1]}, set(mine[:-1])


def percentile(xs: list[float], q: float) -> float:
    """Nearest-rank percentile of `xs` (q in 0..100)."""
    if not xs:
        return float("nan")
    s = sorted(xs)
    return s[max(0, min(len(s) - 1, math.ceil(q / 100 * len(s)) - 1))]


def other_pct(machine: float, hiero: float, me: float, wall: float) -> str:
    return f"{max(0.0, machine - hiero - me) / wall * 100:.0f}%"


def us_per_heartbeat(idle: dict) -> float:
    """CPU microseconds a server spent per heartbeat received in an idle window."""
    return idle["server_cpu"] / 100 * idle["secs"] / max(idle["heartbeats"], 1) * 1e6


def ratio_text(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b > 0 else "n/a (the baseline used no measurable CPU)"


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


# -- the hierophant ---------------------------------------------------------------------------
class BenchHierophant(h.Hierophant):
    """bench/_harness.py's hierophant with a chosen log level and optional cProfile of twistd."""

    def __init__(self, children, root: Path, log_level: str, profile: Path | None) -> None:
        super().__init__(children, root)
        text = self.config.read_text().replace('log_level = "warn"', f'log_level = "{log_level}"')
        self.config.write_text(text)
        self.profile = profile

    def start(self) -> None:
        if self.profile is None:
            return super().start()
        env = {k: v for k, v in os.environ.items() if not k.startswith("HIEROPHANT_")}
        log = open(self.log, "ab")
        self.proc = self.children.spawn(
            [str(h.VENV_BIN / "twistd"), "-n", "--pidfile=", f"--profile={self.profile}", "--profiler=cprofile",
             "--savestats", "hierophant", "-c", str(self.config)],
            cwd=str(self.root), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
        log.close()
        h.wait_http_ok(f"{self.public_url}/healthz", self.proc, what="hierophant")


# -- the idle-cost baseline: a bare Autobahn server (bench/_bare_ws_server.py) ------------------
BASELINES = {"autobahn": "Autobahn's stock server protocol", "lean": "the hierophant's frame short path"}


class BareServer:
    """bench/_bare_ws_server.py (`kind`: autobahn or lean) on a free port, answering `register`
    with `interval` and ignoring every other frame."""

    def __init__(self, children: h.Children, interval: float, kind: str) -> None:
        port = h.free_port()
        self.kind = kind
        self.ws_url = f"ws://{h.LOOPBACK}:{port}/ws"
        self.proc = children.spawn([sys.executable, str(Path(__file__).with_name("_bare_ws_server.py")),
                                    str(port), str(interval), kind], stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
        line = self.proc.stdout.readline()          # "listening", or EOF if it failed (its stderr says why)
        if line.strip() != b"listening":
            raise SystemExit(f"the baseline server did not start (exit {self.proc.wait()})")

    @property
    def pid(self) -> int:
        return self.proc.pid


# -- py-spy (optional): where the hierophant's time goes during the dispatch phase -------------
def start_py_spy(children: h.Children, pid: int, out: Path) -> subprocess.Popen:
    exe = h.VENV_BIN / "py-spy"
    if not exe.exists():
        raise SystemExit("--py-spy needs py-spy in the venv: .venv/bin/pip install py-spy")
    p = children.spawn([str(exe), "record", "--pid", str(pid), "--threads", "--nonblocking", "--rate", "100",
                        "--format", "raw", "-o", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(0.5)
    if p.poll() is not None:
        raise SystemExit(f"py-spy failed: {p.stderr.read().decode(errors='replace')[-500:]}")
    return p


def stop_py_spy(children: h.Children, p: subprocess.Popen) -> None:
    import signal
    if p.poll() is None:
        p.send_signal(signal.SIGINT)          # py-spy writes its output on SIGINT
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    children.procs.remove(p)


def summarize_py_spy(path: Path, top: int = 15) -> None:
    """Samples per thread; for the reactor (main) thread the inclusive share of the project's own
    functions (hierophant/, network_lib/) and the self share of leaf functions, each leaf with
    the project function it was most often called from."""
    import collections
    import re
    threads: collections.Counter = collections.Counter()
    incl: collections.Counter = collections.Counter()
    self_: collections.Counter = collections.Counter()
    via: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    main_total = 0
    own = re.compile(r"\((hierophant|network_lib)/")
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = stack.split(";")
        thread = re.sub(r"^thread \(\w+\): ", "", frames[0])
        thread = re.sub(r"[-_ ]?\(?\d+\)?$", "", thread) or "?"
        threads[thread] += n
        if thread != "MainThread":
            continue
        main_total += n
        names = [re.sub(r":\d+\)$", ")", f) for f in frames[1:]]
        for name in set(names):
            if own.search(name):
                incl[name] += n
        if names:
            self_[names[-1]] += n
            caller = next((f for f in reversed(names[:-1]) if own.search(f)), "-")
            via[names[-1]][caller] += n
    total = sum(threads.values())
    if not total or not main_total:
        print("# py-spy: no samples")
        return
    print(f"# py-spy: {total} samples (100 Hz, non-idle threads) by thread: " +
          ", ".join(f"{t} {c / total:.0%}" for t, c in threads.most_common(8)))
    print(f"# reactor thread ({main_total} samples), inclusive share of the project's functions:")
    for name, c in incl.most_common(top):
        print(f"#   {c / main_total:6.1%}  {name}")
    print("# reactor thread, self share (leaf function <- project caller):")
    for name, c in self_.most_common(top):
        caller = via[name].most_common(1)[0][0]
        print(f"#   {c / main_total:6.1%}  {name}  <- {caller}")


# -- queueing the requests (before any worker connects) ------------------------------------------
class RequestMaker:
    """CreateArtifact + PUT stdin + RequestProof, from a pool of threads (one HTTP keep-alive
    connection per thread, one shared gRPC channel)."""

    def __init__(self, target: str, mode: int) -> None:
        import grpc
        from network_lib.proto import network_pb2 as pb, network_pb2_grpc
        from network_lib.proto import artifact_pb2, artifact_pb2_grpc
        self.grpc, self.pb, self.apb = grpc, pb, artifact_pb2
        self.channel = grpc.insecure_channel(target)
        grpc.channel_ready_future(self.channel).result(timeout=30)
        self.net = network_pb2_grpc.ProverNetworkStub(self.channel)
        self.art = artifact_pb2_grpc.ArtifactStoreStub(self.channel)
        self.mode = mode
        self.local = threading.local()
        self.deadline = int(time.time()) + 6 * 3600
        program_uri = h.upload(self.channel, 1, len(h.ELF_STUB).to_bytes(8, "little") + h.ELF_STUB)
        self.vk_hash = h.random_vk_hash()
        self.net.CreateProgram(pb.CreateProgramRequest(
            format=0, signature=h.NO_SIGNATURE,
            body=pb.CreateProgramRequestBody(nonce=0, vk_hash=self.vk_hash, vk=b"bench-vk", program_uri=program_uri)),
            timeout=30)

    def _put(self, url: str, data: bytes) -> None:
        parts = urlsplit(url)
        for attempt in (1, 2):
            conn = getattr(self.local, "conn", None)
            if conn is None:
                conn = self.local.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
            try:
                conn.request("PUT", parts.path, body=data)
                resp = conn.getresponse()
                body = resp.read()
            except (http.client.HTTPException, OSError):
                conn.close()
                self.local.conn = None
                if attempt == 2:
                    raise
                continue
            if resp.status != 200:
                raise RuntimeError(f"stdin upload answered {resp.status}: {body[:200]!r}")
            return

    def one(self, i: int) -> bytes:
        pb = self.pb
        art = self.art.CreateArtifact(self.apb.CreateArtifactRequest(signature=h.NO_SIGNATURE, artifact_type=2),
                                      timeout=60)
        # bincode(SP1Stdin) with one 8-byte buffer holding i: 24+ bytes, distinct per request.
        stdin = (1).to_bytes(8, "little") + (8).to_bytes(8, "little") + i.to_bytes(8, "little") + bytes(16)
        self._put(art.artifact_presigned_url, stdin)
        resp = self.net.RequestProof(pb.RequestProofRequest(
            format=0, signature=h.NO_SIGNATURE,
            body=pb.RequestProofRequestBody(nonce=i + 1, vk_hash=self.vk_hash, version="sp1-v6.1.0", mode=self.mode,
                                            strategy=0, stdin_uri=art.artifact_uri, deadline=self.deadline)),
            timeout=60)
        return resp.body.request_id

    def make(self, n: int, threads: int) -> list[bytes]:
        ids: list[bytes] = []
        lock = threading.Lock()
        counter = iter(range(n))
        stop = threading.Event()

        def loop():
            while not stop.is_set():
                with lock:
                    i = next(counter, None)
                if i is None:
                    return
                rid = self.one(i)
                with lock:
                    ids.append(rid)

        pool = ThreadPoolExecutor(threads, thread_name_prefix="mk")
        futures = [pool.submit(loop) for _ in range(threads)]
        try:
            last = time.monotonic()
            while not all(f.done() for f in futures):
                time.sleep(0.1)
                if time.monotonic() - last >= 5:
                    last = time.monotonic()
                    print(f"#   ... {len(ids)}/{n} requests queued", flush=True)
            for f in futures:
                f.result()
        finally:
            stop.set()
            pool.shutdown(wait=True, cancel_futures=True)
        return ids

    def verify(self, expected: set[bytes]) -> dict:
        """Every request of the program by fulfillment status (GetFilteredProofRequests pages)."""
        pb = self.pb
        out = {}
        for name in ("FULFILLED", "REQUESTED", "ASSIGNED", "UNFULFILLABLE"):
            seen: set[bytes] = set()
            page = 1
            while True:
                resp = self.net.GetFilteredProofRequests(pb.GetFilteredProofRequestsRequest(
                    vk_hash=self.vk_hash, fulfillment_status=getattr(pb, name), limit=100, page=page), timeout=60)
                if not resp.requests:
                    break
                seen.update(r.request_id for r in resp.requests)
                if len(resp.requests) < 100:
                    break
                page += 1
            out[name] = seen
        out["missing"] = expected - out["FULFILLED"]
        return out

    def close(self) -> None:
        self.channel.close()


# -- the worker phase (one reactor) --------------------------------------------------------------
def run_workers(args, children: h.Children, hiero: BenchHierophant, n_requests: int,
                bares: list[BareServer]) -> dict:
    from twisted.internet import reactor, task

    from _simworkers import Fleet

    ws_url = f"ws://{h.LOOPBACK}:{hiero.http_port}/ws"
    fleet = Fleet(reactor, args.workers, ws_url, WORKER_TOKEN, ramp=args.ramp)
    res: dict = {"done": False, "timed_out": False, "idle": None, "baselines": {}}
    spy = start_py_spy(children, hiero.pid, args.py_spy) if args.py_spy else None
    t_start = time.perf_counter()
    cpu_h0, cpu_s0, busy0 = h.cpu_seconds(hiero.pid), self_cpu_seconds(), machine_busy_seconds()

    def progress():
        st = fleet.stats
        el = time.perf_counter() - t_start
        print(f"#   t={el:5.1f}s registered={st.registered}/{args.workers} jobs={st.jobs} "
              f"fulfilled={st.fulfilled}/{n_requests}", flush=True)

    ticker = task.LoopingCall(progress)
    ticker.start(5.0, now=False)

    def finish(last=fleet):
        if ticker.running:
            ticker.stop()
        d = last.close()
        timer = reactor.callLater(3.0, reactor.stop)
        d.addBoth(lambda _: reactor.callLater(0.3, lambda: timer.active() and (timer.cancel(), reactor.stop())))

    def sample_idle(pid: int, on: Fleet, then) -> None:
        """CPU of `pid` (and RSS, and this process's CPU) over --idle-secs while `on` heartbeats."""
        st = on.stats
        c_h, c_s, t0, beats0 = h.cpu_seconds(pid), self_cpu_seconds(), time.perf_counter(), st.heartbeats
        busy = machine_busy_seconds()

        def end():
            dt = time.perf_counter() - t0
            then({"secs": dt, "server_cpu": (h.cpu_seconds(pid) - c_h) / dt * 100, "rss_kib": rss_kib(pid),
                  "self_cpu": (self_cpu_seconds() - c_s) / dt * 100,
                  "machine_cpu": (machine_busy_seconds() - busy) / dt * 100,
                  "heartbeats": st.heartbeats - beats0, "workers": st.registered,
                  "interval": on.heartbeat_interval})
        reactor.callLater(args.idle_secs, end)

    def idle_window():
        print(f"# queue empty, {fleet.stats.registered} workers registered; sampling the hierophant's CPU for "
              f"{args.idle_secs:g} s while they heartbeat", flush=True)
        sample_idle(hiero.pid, fleet, hierophant_sampled)

    def hierophant_sampled(idle: dict) -> None:
        res["idle"] = idle
        if ticker.running:
            ticker.stop()
        baseline(fleet, 0)

    def baseline(previous: Fleet, i: int) -> None:
        """The same number of workers, heartbeating the same bytes at the same interval, to
        bares[i] on the hierophant's CPU; the previous fleet leaves first."""
        if i == len(bares):
            return finish(previous)
        bare = bares[i]
        print(f"# baseline {bare.kind}: the same {args.workers} workers to a server doing nothing with their "
              f"frames ({BASELINES[bare.kind]}, pid {bare.pid}) on the hierophant's CPU", flush=True)
        previous.close().addBoth(lambda _: reactor.callLater(1.0, connect_baseline, bare, i))

    def connect_baseline(bare: BareServer, i: int) -> None:
        base = Fleet(reactor, args.workers, bare.ws_url, WORKER_TOKEN, ramp=args.ramp)
        give_up = reactor.callLater(60 + args.workers / 50, lambda: (
            print(f"# baseline {bare.kind}: not every worker registered in time; not measured", flush=True),
            baseline(base, i + 1)))

        def sampled(idle: dict) -> None:
            res["baselines"][bare.kind] = idle
            baseline(base, i + 1)

        def registered(_):
            if give_up.active():
                give_up.cancel()
                reactor.callLater(args.settle_secs, sample_idle, bare.pid, base, sampled)
        base.connect().addCallback(registered)

    def dispatch_over(how: str) -> None:
        res[how] = True
        res["t_done"] = time.perf_counter()
        res["dispatch_cpu_hiero"] = h.cpu_seconds(hiero.pid) - cpu_h0
        res["dispatch_cpu_self"] = self_cpu_seconds() - cpu_s0
        res["dispatch_cpu_machine"] = machine_busy_seconds() - busy0
        res["dispatch_wall"] = res["t_done"] - t_start
        if spy is not None:
            stop_py_spy(children, spy)

    def all_done():
        dispatch_over("done")
        if deadline.active():
            deadline.cancel()
        progress()
        # Let the last writes and `completed` frames settle, and wait for every worker.
        fleet.all_registered.addCallback(lambda _: reactor.callLater(args.settle_secs, idle_window))

    def on_progress():
        if not res["done"] and fleet.stats.fulfilled >= n_requests:
            all_done()

    def timed_out():
        dispatch_over("timed_out")
        print(f"# gave up after --max-secs={args.max_secs:g}", flush=True)
        finish()

    fleet.on_progress = on_progress
    deadline = reactor.callLater(args.max_secs, timed_out)
    reactor.callWhenRunning(fleet.connect)
    reactor.run()           # SIGINT/SIGTERM stop it (Twisted's handlers)
    res["stats"] = fleet.stats
    res["interrupted"] = not res["done"] and not res["timed_out"]
    return res


# -- main -------------------------------------------------------------------------------------------
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="Everything runs on 127.0.0.1 and stops by itself.")
    ap.add_argument("--workers", type=int, default=500, help="simulated contemplants (default 500)")
    ap.add_argument("--requests", type=int, default=5000, help="queued proof requests (default 5000)")
    ap.add_argument("--idle-secs", type=float, default=30.0,
                    help="idle window for the heartbeat CPU sample (default 30)")
    ap.add_argument("--quick", action="store_true", help="50 workers, 500 requests, 5 s idle")
    ap.add_argument("--mode", type=int, default=1, choices=(1, 3, 4),
                    help="proof mode of the requests: 1 core, 3 plonk, 4 groth16 (default 1)")
    ap.add_argument("--create-threads", type=int, default=16, help="threads queueing requests (default 16)")
    ap.add_argument("--ramp", type=int, default=32, help="worker handshakes in flight at once (default 32)")
    ap.add_argument("--settle-secs", type=float, default=2.0,
                    help="pause between the last proof and the idle window (default 2)")
    ap.add_argument("--max-secs", type=float, default=None,
                    help="give up on the worker phase after this long (default 60 + requests/20)")
    ap.add_argument("--log-level", default="info", choices=("debug", "info", "warn", "error"),
                    help="the hierophant's log_level (default info, the shipped default)")
    ap.add_argument("--no-pin", dest="pin", action="store_false",
                    help="let the hierophant and the load generator share all CPUs (by default, with 2 or "
                         "more CPUs, the hierophant gets the last one and the load generator the others)")
    ap.add_argument("--baselines", default="autobahn,lean",
                    help="idle baselines after the hierophant's idle window, comma-separated: the same workers "
                         "heartbeating to a server that does nothing with the frames, with Autobahn's stock "
                         "protocol (autobahn) or the hierophant's frame short path (lean); '' for none "
                         "(default autobahn,lean)"),
    ap.add_argument("--profile", metavar="FILE", type=Path,
                    help="run twistd under cProfile and save pstats to FILE (slows it down)")
    ap.add_argument("--py-spy", metavar="FILE", type=Path,
                    help="sample the hierophant with py-spy during the worker phase (raw stacks to FILE) "
                         "and print where its time goes; perturbs the numbers")
    args = ap.parse_args()
    if args.quick:
        args.workers, args.requests, args.idle_secs = 50, 500, 5.0
    if args.workers < 1 or args.requests < 1 or args.idle_secs <= 0:
        ap.error("--workers, --requests and --idle-secs must be positive")
    args.baselines = [k for k in args.baselines.split(",") if k]
    if set(args.baselines) - set(BASELINES):
        ap.error(f"--baselines: unknown {sorted(set(args.baselines) - set(BASELINES))}; known: {sorted(BASELINES)}")
    if args.max_secs is None:
        args.max_secs = 60 + args.requests / 20

    raise_fd_limit(2 * args.workers + 1024)
    with h.session() as children:
        root = children.tempdir("scheduler-bench-")
        profile = args.profile.resolve() if args.profile else None
        hiero = BenchHierophant(children, root, args.log_level, profile)
        cpus = split_cpus() if args.pin else None
        if cpus:            # the hierophant (and its threads) inherit this process's CPUs at spawn
            os.sched_setaffinity(0, cpus[0])
        hiero.start()
        # Started now, so that they share the hierophant's CPU; each idles until its baseline.
        bares = [BareServer(children, SchedulerConfig().heartbeat_interval_secs, kind) for kind in args.baselines]
        if cpus:
            os.sched_setaffinity(0, cpus[1])
            where = f"hierophant pinned to CPU {sorted(cpus[0])}, load generator to {sorted(cpus[1])}"
        else:
            where = f"{len(os.sched_getaffinity(0))} CPUs shared by server and load generator"
        print(f"# hierophant pid {hiero.pid} on {hiero.public_url} (log_level {args.log_level}"
              f"{', cProfile' if profile else ''}); {args.workers} workers, {args.requests} requests "
              f"(mode {args.mode}), {where}", flush=True)

        t0 = time.perf_counter()
        maker = RequestMaker(hiero.grpc_target, args.mode)
        children.at_close(maker.close)
        ids = maker.make(args.requests, args.create_threads)
        dt = time.perf_counter() - t0
        print(f"# queued {len(ids)} requests in {dt:.1f} s ({len(ids) / dt:.0f}/s, {args.create_threads} threads)",
              flush=True)

        res = run_workers(args, children, hiero, len(ids), bares)
        if res["interrupted"]:
            print("interrupted; cleaning up", file=sys.stderr)
            return 130
        st = res["stats"]
        found = maker.verify(set(ids))

        # -- report -----------------------------------------------------------------------------
        fulfilled = len(found["FULFILLED"] & set(ids))
        print(f"# workers: {st.registered} registered, {st.jobs} jobs received ({len(st.request_ids)} distinct, "
              f"{st.retried} retries), {st.fulfilled} proofs accepted, {len(st.http_errors)} HTTP errors, "
              f"{len(st.closes)} unexpected closes, {st.early_jobs} jobs read before the previous 200")
        g, p = [x * 1000 for x in st.get_secs], [x * 1000 for x in st.put_secs]
        print(f"# client-side HTTP times: input GET p50 {percentile(g, 50):.1f} ms p99 {percentile(g, 99):.1f} ms; "
              f"proof PUT (-> 200) p50 {percentile(p, 50):.1f} ms p99 {percentile(p, 99):.1f} ms")
        for e in (st.http_errors + st.closes)[:5]:
            print(f"#   {e}")
        ok_all = (fulfilled == len(ids) and not found["missing"] and not found["REQUESTED"]
                  and not found["ASSIGNED"] and not found["UNFULFILLABLE"])
        print(f"# server check (GetFilteredProofRequests): FULFILLED {fulfilled}/{len(ids)}, "
              f"REQUESTED {len(found['REQUESTED'])}, ASSIGNED {len(found['ASSIGNED'])}, "
              f"UNFULFILLABLE {len(found['UNFULFILLABLE'])}, missing {len(found['missing'])}: "
              f"{'all fulfilled, none lost' if ok_all else 'INCOMPLETE'}")

        if st.first_job is not None and st.last_fulfilled is not None and st.last_fulfilled > st.first_job:
            wall = st.last_fulfilled - st.first_job
            rate = st.jobs / wall
        else:
            wall, rate = float("nan"), 0.0
        dw = res["dispatch_wall"]
        print(f"# dispatch phase: {dw:.1f} s from the first connect ({wall:.1f} s first job -> last proof); "
              f"hierophant CPU {res['dispatch_cpu_hiero'] / dw * 100:.0f}% of one core, "
              f"load generator CPU {res['dispatch_cpu_self'] / dw * 100:.0f}% of one core, "
              f"other processes "
              f"{other_pct(res['dispatch_cpu_machine'], res['dispatch_cpu_hiero'], res['dispatch_cpu_self'], dw)}"
              f" (of {os.cpu_count()} cores; other load makes every number worse)")
        print(f"assignments_per_s value={rate:.0f} ({st.jobs} jobs in {wall:.2f} s) "
              f"(target >= {TARGET_RATE:g}) {verdict(rate >= TARGET_RATE and ok_all)}"
              + ("" if ok_all else " [not all requests fulfilled]"))

        lat = [x * 1000 for x in st.latencies]
        p50, p99 = percentile(lat, 50), percentile(lat, 99)
        print(f"dispatch_latency_ms p50={p50:.1f} p99={p99:.1f} max={max(lat) if lat else float('nan'):.1f} "
              f"n={len(lat)} (target p99 < {TARGET_P99_MS:g}) {verdict(bool(lat) and p99 < TARGET_P99_MS)}  "
              f"[client-side: proof PUT 200 read -> next job read, per worker, queue non-empty; includes "
              f"loopback + load-generator reactor delay, so an upper bound]")
        if st.all_registered_at is not None and st.first_job is not None and st.all_registered_at - st.first_job > 1:
            steady = [x * 1000 for x, t in zip(st.latencies, st.latency_at) if t > st.all_registered_at]
            ramp = [x * 1000 for x, t in zip(st.latencies, st.latency_at) if t <= st.all_registered_at]
            print(f"# dispatch latency split: while workers were still registering (first "
                  f"{st.all_registered_at - (st.first_job or st.all_registered_at):.1f} s) "
                  f"p50 {percentile(ramp, 50):.1f} "
                  f"p99 {percentile(ramp, 99):.1f} ms n={len(ramp)}; after all registered p50 "
                  f"{percentile(steady, 50):.1f} p99 {percentile(steady, 99):.1f} ms n={len(steady)}")

        idle = res["idle"]
        if idle is not None:
            print(f"idle_cpu_pct value={idle['server_cpu']:.2f} ({idle['workers']} idle workers, "
                  f"{idle['heartbeats']} heartbeats every {idle['interval']:g} s, {idle['secs']:.1f} s) "
                  f"(target < {TARGET_IDLE_CPU:g}) {verdict(idle['server_cpu'] < TARGET_IDLE_CPU)}")
            for kind, base in res["baselines"].items():
                print(f"idle_cpu_baseline_pct kind={kind} value={base['server_cpu']:.2f} (a server doing nothing "
                      f"with the frames, {BASELINES[kind]}: {base['workers']} idle workers, {base['heartbeats']} "
                      f"heartbeats every {base['interval']:g} s, {base['secs']:.1f} s, same CPU, right after; "
                      f"RSS {base['rss_kib'] / 1024:.0f} MiB) hierophant/{kind} "
                      f"{ratio_text(idle['server_cpu'], base['server_cpu'])}")
            lean = res["baselines"].get("lean")
            if lean is not None and lean["server_cpu"] > 0:       # /proc counts CPU in 10 ms ticks
                floor_us = us_per_heartbeat(lean)
                print(f"# CPU per idle heartbeat: hierophant {us_per_heartbeat(idle):.0f} us, of which the lean floor "
                      f"(Twisted + the frame short path) {floor_us:.0f} us and the hierophant's own work "
                      f"{us_per_heartbeat(idle) - floor_us:.0f} us")
            print(f"hierophant_rss_mib value={idle['rss_kib'] / 1024:.0f} (with {idle['workers']} workers connected)")
            print(f"load_generator_cpu_pct dispatch={res['dispatch_cpu_self'] / dw * 100:.0f} "
                  f"idle={idle['self_cpu']:.2f} (of one core; {where}; "
                  f"other processes used {max(0.0, idle['machine_cpu'] - idle['server_cpu'] - idle['self_cpu']):.0f}% "
                  f"during the idle window)")
        else:
            print(f"idle_cpu_pct value=nan (not measured: the worker phase did not finish) "
                  f"(target < {TARGET_IDLE_CPU:g}) MISS")
            print(f"load_generator_cpu_pct dispatch={res['dispatch_cpu_self'] / dw * 100:.0f} idle=nan")
        if args.py_spy and args.py_spy.exists():
            summarize_py_spy(args.py_spy)
        if profile:
            maker.close()
            hiero.stop()          # twistd writes the profile on a clean stop
            print(f"# cProfile stats of the hierophant: {profile}")
        return 0
    return 130          # interrupted; h.session() stopped everything


if __name__ == "__main__":
    sys.exit(main())
