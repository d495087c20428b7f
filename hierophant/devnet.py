"""`hierophant-devnet`: a whole local network in one command.

Starts `twistd -n hierophant -c etc/hierophant.toml` and a mock contemplant
(`twistd -n contemplant -c etc/contemplant.toml`) as child processes, prints how to point
sp1-sdk at it, and stops everything on Ctrl-C (or SIGTERM) within seconds, a proof running or
not: the contemplant hands running jobs back after 2 s (`CONTEMPLANT_DRAIN_TIMEOUT_SECS`,
unless set), and a second Ctrl-C kills both at once. The daemons run in their own sessions
and die with this launcher. Run it from the repository root (or pass --config /
--contemplant-config). The hierophant it starts accepts mock proofs
(HIEROPHANT_VERIFICATION_ACCEPT_MOCK_PROOFS=true unless that variable is already set).
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from hierophant.config import load_config
from network_lib import lifeline

MOCK_ENV = "HIEROPHANT_VERIFICATION_ACCEPT_MOCK_PROOFS"


def _twistd() -> list[str]:
    exe = Path(sys.executable).with_name("twistd")
    return [str(exe)] if exe.exists() else [sys.executable, "-c", "from twisted.scripts.twistd import run; run()"]


def _wait_healthy(url: str, proc: subprocess.Popen, stop: "_Stop", timeout: float = 60.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end and proc.poll() is None and not stop.asked:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return True
        except OSError:
            time.sleep(0.2)
    return False


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", default="etc/hierophant.toml", help="hierophant config (default: %(default)s)")
    ap.add_argument("--contemplant-config", default="etc/contemplant.toml",
                    help="mock contemplant config (default: %(default)s); 'none' starts no worker")
    args = ap.parse_args(argv)
    cfg = load_config(args.config, _env("hierophant"))
    stop = _Stop()
    procs = [_spawn("hierophant", args.config)]
    try:
        health = f"http://127.0.0.1:{cfg.http_port}/healthz"
        if not _wait_healthy(health, procs[0], stop):
            if not stop.asked:
                print("hierophant did not become healthy; see its log above", file=sys.stderr)
            return 0 if stop.asked else 1
        if args.contemplant_config != "none":
            procs.insert(0, _spawn("contemplant", args.contemplant_config))
        print(f"\nLocal SP1 prover network ready ({len(procs) - 1} mock contemplant).\n"
              f"  dashboard: http://127.0.0.1:{cfg.http_port}/dashboard\n"
              f"  workers: http://127.0.0.1:{cfg.http_port}/contemplants\n"
              f"  NETWORK_RPC_URL=http://127.0.0.1:{cfg.grpc_port}   (sp1-sdk 5.0.x: .network().rpc_url(..); "
              f"6.x: .network_for(NetworkMode::Reserved).rpc_url(..))\n"
              f"  hierophant-client --rpc-url http://127.0.0.1:{cfg.grpc_port} --help\n"
              f"Ctrl-C stops it.\n", flush=True)
        while not stop.asked and all(p.poll() is None for p in procs):
            time.sleep(POLL_SECS)
        return 0 if stop.asked else 1
    finally:
        _stop_all(procs, stop)
        stop.restore()


POLL_SECS = 0.1
STOP_SECS = 20.0                 # then SIGKILL
DEVNET_DRAIN_SECS = "2"          # the mock contemplant hands running jobs back this soon


class _Stop:
    """SIGINT/SIGTERM: the first asks for a graceful stop, the second for an immediate one."""

    def __init__(self) -> None:
        self.count = 0
        self._old = {s: signal.signal(s, self._on_signal) for s in (signal.SIGINT, signal.SIGTERM)}

    @property
    def asked(self) -> bool:
        return self.count > 0

    def _on_signal(self, signum, frame) -> None:
        self.count += 1
        if self.count == 1:
            print("\nstopping (Ctrl-C again to stop at once)", file=sys.stderr, flush=True)

    def restore(self) -> None:
        for s, handler in self._old.items():
            signal.signal(s, handler)


def _env(daemon: str) -> dict[str, str]:
    """The daemon's environment: the mock contemplant's proofs are the SDK mock prover's, so a
    local network accepts them (production keeps [verification] accept_mock_proofs = false),
    and the contemplant hands running jobs back quickly on stop."""
    env = dict(os.environ)
    if daemon == "hierophant":
        env.setdefault(MOCK_ENV, "true")
    else:
        env.setdefault("CONTEMPLANT_DRAIN_TIMEOUT_SECS", DEVNET_DRAIN_SECS)
    return env


def _spawn(daemon: str, config: str) -> subprocess.Popen:
    """A twistd child in its own session (this launcher alone handles Ctrl-C), stopped by
    SIGTERM if this launcher dies however it dies (PDEATHSIG)."""
    parent = os.getpid()
    return subprocess.Popen([*_twistd(), "-n", "--pidfile=", daemon, "-c", config], env=_env(daemon),
                            start_new_session=True,
                            preexec_fn=lambda: lifeline.die_with_parent(parent, signal.SIGTERM))


def _stop_all(procs: list[subprocess.Popen], stop: _Stop) -> None:
    """SIGTERM (the contemplant first), wait up to STOP_SECS; a second Ctrl-C: SIGKILL now."""
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    end = time.monotonic() + STOP_SECS
    while any(p.poll() is None for p in procs) and time.monotonic() < end and stop.count < 2:
        time.sleep(POLL_SECS)
    for p in procs:
        if p.poll() is None:
            p.kill()        # its pool workers and provers die with it (network_lib/lifeline.py)
        p.wait()


if __name__ == "__main__":
    sys.exit(main())
