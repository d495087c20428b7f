"""A real Prometheus server (Debian's `prometheus` package) for tests: it scrapes the test's
daemons on loopback every second, on a free port, with its own TSDB under the test's folder.
Its HTTP API (`/api/v1/query`) answers PromQL; `wait_value` polls a query until it matches."""
from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from tests.integration.harness import free_port

MISSING = "Prometheus is not installed: install Debian's 'prometheus' package (apt-get install -y prometheus)"


def binary() -> str | None:
    return shutil.which("prometheus") or (p if Path(p := "/usr/bin/prometheus").exists() else None)


def promtool() -> str | None:
    return shutil.which("promtool") or (p if Path(p := "/usr/bin/promtool").exists() else None)


class Prometheus:
    def __init__(self, workdir: Path, jobs: dict[str, list[str]], scrape_interval: str = "1s") -> None:
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.jobs, self.interval = jobs, scrape_interval
        self.log_path = workdir / "prometheus.log"
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def config(self) -> str:
        lines = ["global:", f"  scrape_interval: {self.interval}", f"  evaluation_interval: {self.interval}",
                 "scrape_configs:"]
        for job, targets in self.jobs.items():
            lines += [f"  - job_name: {job}", f"    scrape_timeout: {self.interval}", "    static_configs:",
                      "      - targets: [" + ", ".join(f"'{t}'" for t in targets) + "]"]
        return "\n".join(lines) + "\n"

    def start(self, timeout: float = 60.0) -> "Prometheus":
        cfg = self.workdir / "prometheus.yml"
        cfg.write_text(self.config())
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [binary(), f"--config.file={cfg}", f"--storage.tsdb.path={self.workdir / 'tsdb'}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"],
            cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"prometheus exited with {self.proc.returncode}:\n{self.log()}")
            if self._get("/-/ready") == 200:
                return self
            time.sleep(0.1)
        raise RuntimeError(f"prometheus not ready after {timeout}s:\n{self.log()}")

    def _get(self, path: str) -> int | None:
        try:
            with urllib.request.urlopen(self.url + path, timeout=5) as r:
                return r.status
        except urllib.error.HTTPError as e:
            return e.code
        except OSError:
            return None

    def query(self, promql: str) -> list[dict]:
        """The instant vector of `promql` now: [{"metric": {...}, "value": [t, "v"]}, ...]."""
        url = f"{self.url}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
        with urllib.request.urlopen(url, timeout=10) as r:
            body = json.loads(r.read())
        assert body["status"] == "success", body
        return body["data"]["result"]

    def value(self, promql: str) -> float | None:
        result = self.query(promql)
        return float(result[0]["value"][1]) if len(result) == 1 else None

    def wait_value(self, promql: str, expected: float, timeout: float = 60.0) -> float:
        """Poll `promql` until its single value is `expected`, or fail showing the last answer."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = self.query(promql)
            if len(last) == 1 and float(last[0]["value"][1]) == expected:
                return expected
            time.sleep(0.25)
        raise AssertionError(f"{promql} never became {expected} in {timeout}s; last answer {last}\n"
                             f"targets: {self.targets()}")

    def targets(self) -> list[dict]:
        with urllib.request.urlopen(f"{self.url}/api/v1/targets", timeout=10) as r:
            active = json.loads(r.read())["data"]["activeTargets"]
        return [{k: t.get(k) for k in ("scrapeUrl", "health", "lastError")} for t in active]

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
