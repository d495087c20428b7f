"""`hierophant-devnet`: a whole local network in one command.

Starts `twistd -n hierophant -c etc/hierophant.toml` and a mock contemplant
(`twistd -n contemplant -c etc/contemplant.toml`) as child processes, prints how to point
sp1-sdk at it, and stops everything on Ctrl-C. Run it from the repository root (or pass
--config / --contemplant-config). The hierophant it starts accepts mock proofs
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

MOCK_ENV = "HIEROPHANT_VERIFICATION_ACCEPT_MOCK_PROOFS"


def _twistd() -> list[str]:
    exe = Path(sys.executable).with_name("twistd")
    return [str(exe)] if exe.exists() else [sys.executable, "-c", "from twisted.scripts.twistd import run; run()"]


def _wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 60.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end and proc.poll() is None:
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
    # The mock contemplant's proofs are the SDK mock prover's: a local network accepts them
    # (issue 10; production keeps [verification] accept_mock_proofs = false).
    env = {**os.environ}
    env.setdefault(MOCK_ENV, "true")
    cfg = load_config(args.config, env)
    procs = [subprocess.Popen([*_twistd(), "-n", "--pidfile=", "hierophant", "-c", args.config], env=env)]
    try:
        health = f"http://127.0.0.1:{cfg.http_port}/healthz"
        if not _wait_healthy(health, procs[0]):
            print("hierophant did not become healthy; see its log above", file=sys.stderr)
            return 1
        if args.contemplant_config != "none":
            procs.append(subprocess.Popen([*_twistd(), "-n", "--pidfile=", "contemplant",
                                           "-c", args.contemplant_config]))
        print(f"\nLocal SP1 prover network ready ({len(procs) - 1} mock contemplant).\n"
              f"  workers: http://127.0.0.1:{cfg.http_port}/contemplants\n"
              f"  NETWORK_RPC_URL=http://127.0.0.1:{cfg.grpc_port}   (sp1-sdk 5.0.x: .network().rpc_url(..); "
              f"6.x: .network_for(NetworkMode::Reserved).rpc_url(..))\n"
              f"  hierophant-client --rpc-url http://127.0.0.1:{cfg.grpc_port} --help\n"
              f"Ctrl-C stops it.\n", flush=True)
        while all(p.poll() is None for p in procs):
            time.sleep(0.5)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()


if __name__ == "__main__":
    sys.exit(main())
