"""`hierophant-admin`: look at and act on a running hierophant through its admin API.

    hierophant-admin [--url URL] [--token TOKEN] COMMAND [ARGS] [--json]

URL is the hierophant's HTTP base URL (default http://127.0.0.1:9010); TOKEN its
admin_token (also from HIEROPHANT_ADMIN_TOKEN; loopback clients need none). Tables for
people, `--json` for scripts. Exit status: 0 done; 1 the hierophant refused or failed (the
message names why), or `watch` saw the request end unfulfilled; 2 bad usage or a malformed
id. A plain blocking program: no reactor here.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Sequence, TextIO

DEFAULT_URL = "http://127.0.0.1:9010"
TOKEN_ENV = "HIEROPHANT_ADMIN_TOKEN"
TIMEOUT_SECS = 30.0
REQUEST_ID = re.compile(r"^(0[xX])?[0-9a-fA-F]{64}$")
STATUSES = ("requested", "assigned", "fulfilled", "unfulfillable")
BAR_WIDTH = 30


class Failed(Exception):
    """One line for stderr and the exit status."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


class AdminClient:
    """The admin API over HTTP (urllib; blocking)."""

    def __init__(self, url: str, token: str | None, timeout: float = TIMEOUT_SECS) -> None:
        self.base = url.rstrip("/") + "/admin"
        self.url, self.token, self.timeout = url, token, timeout

    def call(self, method: str, *path: str, query: dict | None = None) -> dict:
        url = self.base + "".join("/" + urllib.parse.quote(p, safe="") for p in path)
        if query:
            url += "?" + urllib.parse.urlencode({k: v for k, v in query.items() if v is not None})
        req = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
        if self.token:
            req.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                return json.loads(resp.read())
        except urllib.error.HTTPError as e:
            raise Failed(self._refusal(e)) from None
        except (urllib.error.URLError, OSError) as e:
            reason = getattr(e, "reason", e)
            raise Failed(f"cannot reach the hierophant at {self.url}: {reason}") from None
        except ValueError as e:
            raise Failed(f"{self.url} did not answer JSON (is it a hierophant's HTTP port?): {e}") from None

    def _refusal(self, e: urllib.error.HTTPError) -> str:
        try:
            message = json.loads(e.read()).get("error") or e.reason
        except (ValueError, AttributeError, OSError):
            message = e.reason
        if e.code == 403:
            hint = "the token was refused" if self.token else f"give --token or set {TOKEN_ENV}"
            return f"refused by the hierophant (HTTP 403): {message} ({hint})"
        return f"{message} (HTTP {e.code})"


# -- output -------------------------------------------------------------------------------------
def table(rows: list[list[str]], headers: list[str]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows)]
    lines = ["  ".join(str(x).ljust(w) for x, w in zip(row, widths)).rstrip() for row in [headers, *rows]]
    return "\n".join(lines)


def duration(secs: float | None) -> str:
    if secs is None:
        return "-"
    secs = int(secs)
    if secs < 120:
        return f"{secs}s"
    if secs < 7200:
        return f"{secs // 60}m{secs % 60:02d}s"
    return f"{secs // 3600}h{secs % 3600 // 60:02d}m"


def progress_text(r: dict) -> str:
    if r.get("progress") is None:
        return r.get("phase") or "-"
    return f"{r['progress']:.0f}% {r.get('phase') or ''}".strip()


def requests_table(requests: list[dict]) -> str:
    if not requests:
        return "no requests"
    rows = [[r["request_id"], r["fulfillment"], r["proof_mode"], duration(r["age_secs"]),
             r.get("worker_name") or "-", progress_text(r), (r.get("failure") or "")[:60]] for r in requests]
    return table(rows, ["REQUEST", "STATUS", "MODE", "AGE", "WORKER", "PROGRESS", "FAILURE"])


def worker_state(w: dict) -> str:
    if not w["connected"]:
        return "disconnected"
    if w.get("held"):
        return "drained"            # by an operator (hierophant-admin drain)
    if w["draining"]:
        return "draining"           # the worker is stopping
    return "busy" if w["status"] == "Busy" else "idle"


def workers_table(workers: list[dict]) -> str:
    if not workers:
        return "no workers"
    rows = []
    for w in workers:
        busy = sum(1 for s in w["slots"] if s["request_id"])
        jobs = ", ".join(f"{s['request_id'][:10]}… {s['progress'] or 0:.0f}%" for s in w["slots"] if s["request_id"])
        rows.append([w["name"], w["worker_id"], worker_state(w), f"{busy}/{len(w['slots'])}",
                     ",".join(w["modes"]), str(w["strikes"]), w["address"], jobs or "-"])
    return table(rows, ["NAME", "WORKER_ID", "STATE", "SLOTS", "MODES", "STRIKES", "ADDRESS", "JOBS"])


def request_details(r: dict) -> str:
    keys = ["request_id", "fulfillment", "execution", "proof_mode", "circuit_version", "requester", "age_secs",
            "deadline", "attempt", "attempts_failed", "infra_retries", "worker_name", "worker_id", "phase",
            "progress", "cycles", "eta_secs", "failure"]
    width = max(len(k) for k in keys)
    lines = [f"{k.ljust(width)}  {'-' if r.get(k) is None else r[k]}" for k in keys]
    if r.get("eta_secs") is not None:
        lines.insert(keys.index("eta_secs") + 1, f"{'eta'.ljust(width)}  {duration(r['eta_secs'])}")
    return "\n".join(lines)


def bar(r: dict) -> str:
    pct = r.get("progress")
    filled = int(BAR_WIDTH * (pct or 0) / 100)
    shown = "  ?%" if pct is None else f"{pct:3.0f}%"
    where = f" on {r['worker_name']}" if r.get("worker_name") else ""
    eta = f" ETA {duration(r['eta_secs'])}" if r.get("eta_secs") is not None else ""
    return f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {shown} {r['fulfillment'].lower()}" \
           f"{' ' + r['phase'] if r.get('phase') else ''}{where} {duration(r['age_secs'])}{eta}"


# -- commands -------------------------------------------------------------------------------------
def check_request_id(text: str) -> str:
    if not REQUEST_ID.match(text):
        raise Failed(f"malformed request id {text!r}: expected 0x and 64 hex digits", 2)
    return text if text[:2].lower() == "0x" else "0x" + text


def watch(client: AdminClient, rid: str, out: TextIO, interval: float, as_json: bool) -> int:
    """Poll until the request ends: a bar redrawn in place on a terminal, a line per change
    otherwise (or JSON lines). 0 when FULFILLED, 1 when UNFULFILLABLE."""
    tty = out.isatty() and not as_json
    last = None
    while True:
        r = client.call("GET", "requests", rid)["request"]
        shown = json.dumps(r) if as_json else bar(r)
        key = shown if as_json else _key(r)
        if tty:
            out.write("\r" + shown.ljust(100)[:100])
        elif key != last:
            out.write(shown + "\n")
        out.flush()
        last = key
        if r["fulfillment"] in ("FULFILLED", "UNFULFILLABLE"):
            if tty:
                out.write("\n")
            if not as_json:
                out.write("fulfilled\n" if r["fulfillment"] == "FULFILLED"
                          else f"unfulfillable: {r.get('failure') or 'no reason recorded'}\n")
            return 0 if r["fulfillment"] == "FULFILLED" else 1
        time.sleep(interval)


def _key(r: dict) -> str:
    """What makes a new line worth printing when not on a terminal."""
    return f"{r['fulfillment']}|{r.get('phase')}|{r.get('worker_id')}|{int(r.get('progress') or 0)}"


def run(args: argparse.Namespace, out: TextIO) -> int:
    client = AdminClient(args.url, args.token)
    cmd = args.command

    def emit(value: Any, text: str) -> None:
        out.write((json.dumps(value, indent=1) if args.json else text) + "\n")

    if cmd == "requests":
        if args.status and args.status.lower() not in STATUSES:
            raise Failed(f"unknown status {args.status!r}: one of {', '.join(STATUSES)}", 2)
        found = client.call("GET", "requests", query={"status": args.status, "limit": args.limit})["requests"]
        emit(found, requests_table(found))
    elif cmd == "show":
        r = client.call("GET", "requests", check_request_id(args.id))["request"]
        emit(r, request_details(r))
    elif cmd in ("cancel", "requeue"):
        done = client.call("POST", "requests", check_request_id(args.id), cmd)
        emit(done, f"{cmd}: {done['target']}: {done['detail']}")
    elif cmd == "workers":
        found = client.call("GET", "workers")["workers"]
        emit(found, workers_table(found))
    elif cmd in ("drain", "undrain", "kick"):
        done = client.call("POST", "workers", args.worker, cmd)
        emit(done, f"{cmd}: {done['target']}: {done['detail']}")
    elif cmd == "watch":
        return watch(client, check_request_id(args.id), out, args.interval, args.json)
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="hierophant-admin", description="Operate a hierophant: requests and workers.")
    p.add_argument("--url", default=DEFAULT_URL, help=f"the hierophant's HTTP base URL (default {DEFAULT_URL})")
    p.add_argument("--token", default=os.environ.get(TOKEN_ENV) or None,
                   help=f"admin_token (default: ${TOKEN_ENV}; loopback clients need none)")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="JSON for scripts instead of a table")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    s = sub.add_parser("requests", parents=[common], help="list requests, newest first")
    s.add_argument("--status", help=f"only this fulfillment status ({', '.join(STATUSES)})")
    s.add_argument("--limit", type=int, default=100, help="at most this many (default 100)")
    for name, text in (("show", "one request in detail"),
                       ("cancel", "end a request UNFULFILLABLE; its running attempt is cancelled"),
                       ("requeue", "put an ASSIGNED request back in the queue (no attempt spent)"),
                       ("watch", "a progress bar until the request ends (exit 1 if unfulfilled)")):
        s = sub.add_parser(name, parents=[common], help=text)
        s.add_argument("id", metavar="ID", help="request id (0x and 64 hex digits)")
        if name == "watch":
            s.add_argument("--interval", type=float, default=2.0, help="seconds between polls (default 2)")
    sub.add_parser("workers", parents=[common], help="list workers and their slots")
    for name, text in (("drain", "no new jobs for the worker; running ones finish"),
                       ("undrain", "the worker takes jobs again"),
                       ("kick", "disconnect the worker; its jobs go back to the queue (no attempt spent)")):
        s = sub.add_parser(name, parents=[common], help=text)
        s.add_argument("worker", metavar="WORKER", help="worker_id, or a name unique among connected workers")
    return p


def main(argv: Sequence[str] | None = None, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    args = parser().parse_args(argv)
    try:
        return run(args, out)
    except Failed as e:
        err.write(f"hierophant-admin: {e}\n")
        return e.status
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
