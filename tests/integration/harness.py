"""Real `twistd` processes on loopback ports, as a user runs them.

Each daemon starts in its own session (its pid is the session id), so a test can list what
it left behind (`session_processes`) and a terminal's Ctrl-C reaches pytest only.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
WORKER_TOKEN = "test-worker-token"
START_TIMEOUT_SECS = 90.0      # generous: a loaded 2-core machine starts a daemon slowly


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def twistd_command() -> list[str]:
    exe = Path(sys.executable).with_name("twistd")
    if exe.exists():
        return [str(exe)]
    return [sys.executable, "-c", "import sys; from twisted.scripts.twistd import run; sys.exit(run())"]


def toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _is_table_array(v) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(x, dict) for x in v)


def write_toml(path: Path, values: dict) -> None:
    top = {k: v for k, v in values.items() if not isinstance(v, dict) and not _is_table_array(v)}
    lines = [f"{k} = {toml_value(v)}" for k, v in top.items()]
    for table, items in values.items():
        if isinstance(items, dict):
            lines.append(f"\n[{table}]")
            lines += [f"{k} = {toml_value(v)}" for k, v in items.items()]
        elif _is_table_array(items):
            for item in items:
                lines.append(f"\n[[{table}]]")
                lines += [f"{k} = {toml_value(v)}" for k, v in item.items()]
    path.write_text("\n".join(lines) + "\n")


class Hierophant:
    """One hierophant under test. `cfg` holds the TOML values; restart keeps data_dir."""

    def __init__(self, workdir: Path, scheme: str = "http", **overrides) -> None:
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.grpc_port = free_port()
        self.http_port = free_port()
        self.cfg = {
            "grpc_port": self.grpc_port, "http_port": self.http_port,
            "public_url": f"{scheme}://127.0.0.1:{self.http_port}",
            "data_dir": str(workdir / "data"), "worker_token": WORKER_TOKEN,
            "log_level": "debug",
        }
        for k, v in overrides.items():
            if isinstance(v, dict):
                self.cfg.setdefault(k, {}).update(v)
            else:
                self.cfg[k] = v
        self.scheme = scheme
        self.config_path = workdir / "hierophant.toml"
        self.log_path = workdir / "hierophant.log"
        self.proc: subprocess.Popen | None = None

    @property
    def rpc_url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.grpc_port}"

    @property
    def grpc_target(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    @property
    def http_url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.http_port}"

    @property
    def data_dir(self) -> Path:
        return Path(self.cfg["data_dir"])

    def start(self, timeout: float = START_TIMEOUT_SECS, env: dict | None = None) -> "Hierophant":
        first = self.proc is None
        for tries_left in (2, 1, 0):
            try:
                return self._start(timeout, env)
            except RuntimeError as e:
                # free_port() races other processes of this machine for its ports: on a first
                # start with the ports it picked, pick again.
                if not (first and tries_left and self._own_ports() and "address already in use" in str(e)):
                    raise
                self._repick_ports()
        raise AssertionError("unreachable")

    def _own_ports(self) -> bool:
        return (self.cfg["grpc_port"], self.cfg["http_port"]) == (self.grpc_port, self.http_port) and \
            self.cfg["public_url"] == f"{self.scheme}://127.0.0.1:{self.http_port}"

    def _repick_ports(self) -> None:
        self.grpc_port, self.http_port = free_port(), free_port()
        self.cfg.update(grpc_port=self.grpc_port, http_port=self.http_port,
                        public_url=f"{self.scheme}://127.0.0.1:{self.http_port}")

    def _start(self, timeout: float, env: dict | None) -> "Hierophant":
        write_toml(self.config_path, self.cfg)
        environment = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [*twistd_command(), "-n", "--pidfile=", "hierophant", "-c", str(self.config_path)],
            cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT, env=environment, start_new_session=True)
        log.close()
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float) -> None:
        """Wait until /healthz answers 200 (the process is serving), or fail with its log."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"hierophant exited with {self.proc.returncode}:\n{self.log()}")
            if self.healthz() == 200:
                return
            time.sleep(0.05)
        raise RuntimeError(f"hierophant not ready after {timeout}s:\n{self.log()}")

    def healthz(self) -> int | None:
        try:
            ctx = None
            if self.scheme == "https":
                import ssl
                ctx = ssl._create_unverified_context()
            with urllib.request.urlopen(f"{self.http_url}/healthz", timeout=2, context=ctx) as r:
                return r.status
        except urllib.error.HTTPError as e:
            return e.code
        except OSError:
            return None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self, timeout: float = 20.0) -> int:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill9()
            raise

    def contemplants(self) -> list[dict]:
        return get_json(f"{self.http_url}/contemplants")

    def dead_contemplants(self) -> list[dict]:
        return get_json(f"{self.http_url}/dead-contemplants")

    def proof_history(self) -> list[dict]:
        return get_json(f"{self.http_url}/proof-history?limit=1000")

    def restart(self) -> "Hierophant":
        if self.proc is not None and self.proc.poll() is None:
            self.stop()
        return self.start()


def run_twistd_expecting_failure(workdir: Path, values: dict, timeout: float = START_TIMEOUT_SECS,
                                 env: dict | None = None, daemon: str = "hierophant") -> tuple[int, str]:
    """Start a `daemon` with `values` as its whole config; return (exit code, output)."""
    workdir.mkdir(parents=True, exist_ok=True)
    cfg = workdir / "bad.toml"
    write_toml(cfg, values)
    proc = subprocess.run([*twistd_command(), "-n", "--pidfile=", daemon, "-c", str(cfg)],
                          cwd=workdir, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})}, start_new_session=True)
    return proc.returncode, proc.stdout + proc.stderr


class Contemplant:
    """One contemplant under test, connected to `hierophant`; restart keeps its state_dir."""

    def __init__(self, workdir: Path, hierophant: Hierophant, name: str = "worker", token: str = WORKER_TOKEN,
                 **prover) -> None:
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.hierophant = hierophant
        self.http_port = free_port()
        self.cfg = {
            "hierophant_ws_address": f"ws://127.0.0.1:{hierophant.http_port}/ws",
            "worker_token": token, "name": name, "state_dir": str(workdir / "state"),
            "http_port": self.http_port,
            "provers": [{"backend": "mock", "delay_secs": 0.2, **prover}],
        }
        self.config_path = workdir / "contemplant.toml"
        self.log_path = workdir / "contemplant.log"
        self.proc: subprocess.Popen | None = None

    def start(self, env: dict | None = None, wait: bool = True, timeout: float = START_TIMEOUT_SECS) -> "Contemplant":
        write_toml(self.config_path, self.cfg)
        environment = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [*twistd_command(), "-n", "--pidfile=", "contemplant", "-c", str(self.config_path)],
            cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT, env=environment, start_new_session=True)
        log.close()
        if wait:
            self.wait_registered(timeout)
        return self

    @property
    def worker_id(self) -> str | None:
        p = Path(self.cfg["state_dir"]) / "worker_id"
        return p.read_text().strip() if p.exists() else None

    def wait_registered(self, timeout: float = START_TIMEOUT_SECS) -> dict:
        """Wait until the hierophant lists this worker as connected."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"contemplant exited with {self.proc.returncode}:\n{self.log()}")
            me = self.listed()
            if me is not None and me["connected"]:
                return me
            time.sleep(0.05)
        raise RuntimeError(f"contemplant not registered after {timeout}s:\n{self.log()}")

    def listed(self) -> dict | None:
        wid = self.worker_id
        return next((w for w in self.hierophant.contemplants() if w["worker_id"] == wid), None) if wid else None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def wait_exit(self, timeout: float = 60.0) -> int:
        return self.proc.wait(timeout)


def session_processes(sid: int) -> list[int]:
    """Live (non-zombie) processes of session `sid`: a daemon started here and its children."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] != "Z" and int(fields[3]) == sid:   # state, ppid, pgrp, session
                found.append(int(entry.name))
    return found


def wait_session_empty(sid: int, timeout: float = 10.0) -> list[int]:
    """Poll until session `sid` has no live process; return what is still there."""
    deadline = time.monotonic() + timeout
    while (left := session_processes(sid)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def get_json(url: str):
    import json
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.loads(r.read())
