#!/usr/bin/env python3
"""Artifact PUT/GET throughput of a real hierophant, as ratios to nginx on the same file.

Makes a file of incompressible random bytes (1 GiB by default) and its zstd level-3
stream (no content size, as sp1-sdk 6.x uploads), starts nginx (a child on a free loopback
port, generated config: sendfile on, dav_methods PUT, client_max_body_size 0, bodies
written to disk) and `twistd -n hierophant` (throw-away data_dir), and moves the file with
the same client (curl, timed by curl's time_total) to both, alternating hierophant / nginx:

  put_raw   PUT of the raw file   -> hierophant presigned upload URL (a STDIN artifact)
  put_zstd  PUT of the .zst file  -> same (the hierophant decodes it on the fly; nginx
                                     stores the bytes as they are)
  get       GET of the raw file   <- hierophant /proofs/<download_token>, served by the
                                     same code as real proofs: a PROOF artifact row with a
                                     download token is inserted into the data_dir before
                                     the hierophant starts (no workers exist to make one)

Ratios are nginx time / hierophant time of the medians. The hierophant's main-process
peak RSS (VmHWM) is read at the end. Every file lives in a temp dir under /tmp and is
removed at the end (also on Ctrl-C). Needs about 5x the file size free in /tmp.

    .venv/bin/python bench/artifact_bench.py              # 1 GiB, ~1 min
    .venv/bin/python bench/artifact_bench.py --size-mib 256 --rounds 3

Exit status is 0 whenever the measurement ran (a MISS is a result) and also when nginx
or curl is missing (it says how to install them).
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _harness as h  # noqa: E402

MiB = 1 << 20
TARGETS = {"put_raw": 0.5, "put_zstd": 0.5, "get": 0.3}
RSS_TARGET_MB = 150


def random_chunks(size: int, chunk: int = 16 * MiB):
    """`size` incompressible bytes: AES-CTR keystream (fast) when available, else os.urandom."""
    try:
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
        enc = Cipher(algorithms.AES(os.urandom(32)), modes.CTR(os.urandom(16))).encryptor()
        zeros = bytes(chunk)
        gen = lambda n: enc.update(zeros[:n])  # noqa: E731
    except ImportError:
        gen = os.urandom
    left = size
    while left:
        n = min(chunk, left)
        yield gen(n)
        left -= n


def make_files(d: Path, size: int) -> tuple[Path, Path]:
    import zstandard
    raw, zst = d / "blob", d / "blob.zst"
    with open(raw, "wb") as f:
        for chunk in random_chunks(size):
            f.write(chunk)
    cctx = zstandard.ZstdCompressor(level=3)   # streaming: frames carry no content size
    with open(raw, "rb") as src, open(zst, "wb") as dst:
        cctx.copy_stream(src, dst, read_size=4 * MiB, write_size=4 * MiB)
    return raw, zst


def nginx_config(d: Path, port: int) -> Path:
    for sub in ("www", "client_body", "proxy", "fastcgi", "uwsgi", "scgi", "logs"):
        (d / sub).mkdir(exist_ok=True)
    user = "user root root;\n" if os.geteuid() == 0 else ""
    conf = d / "nginx.conf"
    conf.write_text(f"""\
{user}worker_processes 1;
daemon off;
master_process on;
pid {d}/nginx.pid;
error_log {d}/logs/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    default_type application/octet-stream;
    client_body_temp_path {d}/client_body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    sendfile on;
    tcp_nopush on;
    server {{
        listen {h.LOOPBACK}:{port};
        root {d}/www;
        client_max_body_size 0;
        location / {{
            dav_methods PUT;
            create_full_put_path on;
        }}
    }}
}}
""")
    return conf


def start_nginx(children: h.Children, d: Path) -> str:
    port = h.free_port()
    conf = nginx_config(d, port)
    proc = children.spawn([shutil.which("nginx"), "-p", str(d), "-e", str(d / "logs/error.log"),
                           "-c", str(conf)], stdin=subprocess.DEVNULL,
                          stdout=subprocess.DEVNULL, stderr=open(d / "logs/stderr.log", "wb"))
    (d / "www/ping").write_bytes(b"ok")
    base = f"http://{h.LOOPBACK}:{port}"
    try:
        h.wait_http_ok(f"{base}/ping", proc, what="nginx")
    except RuntimeError:
        sys.stderr.write((d / "logs/stderr.log").read_text(errors="replace"))
        raise
    return base


def insert_proof(data_dir: Path, blob: Path) -> str:
    """A complete PROOF artifact (download token, file hard-linked) in a stopped hierophant's store."""
    import secrets

    from hierophant.db import Database
    from hierophant.model import Artifact, ArtifactKind, new_token, now

    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "artifacts").mkdir(exist_ok=True)
    artifact = Artifact(id=f"proof_{secrets.token_hex(16)}", kind=ArtifactKind.PROOF, owner=b"",
                        created_at=now(), download_token=new_token(), complete=True,
                        size=blob.stat().st_size, completed_at=now())
    os.link(blob, data_dir / "artifacts" / artifact.id)
    path = data_dir / "hierophant.sqlite3"
    db = Database(path)          # creates the schema
    db.start()
    db.write(put=[artifact])     # no reactor runs here: stop() drains the queued write
    db.stop()
    db = Database(path)
    stored = [a for a in db.load().artifacts if a.id == artifact.id]
    db.stop()
    if not stored or stored[0].download_token != artifact.download_token:
        raise RuntimeError("could not insert the proof artifact into the hierophant's store")
    return artifact.download_token


def curl(args: list[str], timeout: float) -> tuple[int, float, int]:
    """(HTTP status, curl's time_total, bytes downloaded) of one transfer."""
    out = subprocess.run(["curl", "-sS", "-H", "Expect:", "--max-time", str(int(timeout)),
                          "-w", "%{http_code} %{time_total} %{size_download}", *args],
                         capture_output=True, text=True, timeout=timeout + 10)
    if out.returncode != 0:
        raise RuntimeError(f"curl failed ({out.returncode}): {out.stderr.strip()}")
    code, t, n = out.stdout.split()[-3:]
    return int(code), float(t), int(n)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="Everything runs on 127.0.0.1 and stops by itself.")
    ap.add_argument("--size-mib", type=int, default=1024, help="file size in MiB (default 1024)")
    ap.add_argument("--rounds", type=int, default=3,
                    help="alternating hierophant/nginx pairs per metric; medians compared (default 3)")
    ap.add_argument("--timeout", type=float, default=120.0, help="limit of one transfer, seconds (default 120)")
    args = ap.parse_args()
    if args.size_mib < 1 or args.rounds < 1:
        ap.error("--size-mib and --rounds must be positive")
    missing = [tool for tool in ("nginx", "curl") if shutil.which(tool) is None]
    if missing:
        print(f"SKIP: {' and '.join(missing)} not found; this bench compares against nginx using curl.\n"
              f"  Debian/Ubuntu: apt-get update && apt-get install -y nginx curl  (then run it again)")
        return 0
    size = args.size_mib * MiB
    free = shutil.disk_usage("/tmp").free
    if free < 5 * size + 256 * MiB:
        print(f"SKIP: /tmp has {free // MiB} MiB free; this bench needs about {5 * size // MiB} MiB "
              f"(try a smaller --size-mib)")
        return 0

    import grpc

    with h.session() as children:
        root = children.tempdir("artifact-bench-")
        t0 = time.monotonic()
        raw, zst = make_files(root, size)
        print(f"# {size // MiB} MiB random file, zstd-3 stream {zst.stat().st_size} bytes "
              f"(made in {time.monotonic() - t0:.1f} s); {args.rounds} rounds per side", flush=True)

        ngx_dir = root / "nginx"
        ngx_dir.mkdir()
        ngx = start_nginx(children, ngx_dir)
        os.link(raw, ngx_dir / "www/blob")

        hiero = h.Hierophant(children, root / "hierophant", max_artifact_bytes=max(2 << 30, 2 * size),
                             max_decompressed_bytes=max(4 << 30, 2 * size))
        token = insert_proof(hiero.data_dir, raw)
        hiero.start()
        channel = grpc.insecure_channel(hiero.grpc_target)
        grpc.channel_ready_future(channel).result(timeout=30)

        counter = iter(range(1_000_000))

        def put_hierophant(path: Path) -> float:
            uri, url = h.create_artifact(channel, 2)   # STDIN: any >= 24 bytes is accepted
            os.sync()
            code, t, _ = curl(["-o", "/dev/null", "-T", str(path), url], args.timeout)
            stored = hiero.data_dir / "artifacts" / uri
            if code != 200 or stored.stat().st_size != size:
                raise RuntimeError(f"hierophant PUT answered {code}")
            stored.unlink()
            return t

        def put_nginx(path: Path) -> float:
            name = f"put-{next(counter)}"
            os.sync()
            code, t, _ = curl(["-o", "/dev/null", "-T", str(path), f"{ngx}/{name}"], args.timeout)
            stored = ngx_dir / "www" / name
            if code not in (201, 204) or stored.stat().st_size != path.stat().st_size:
                raise RuntimeError(f"nginx PUT answered {code}")
            stored.unlink()
            return t

        def get(url: str) -> float:
            os.sync()
            code, t, n = curl(["-o", "/dev/null", url], args.timeout)
            if code != 200 or n != size:
                raise RuntimeError(f"GET {url} answered {code} with {n} bytes")
            return t

        metrics = {
            "put_raw": (lambda: put_hierophant(raw), lambda: put_nginx(raw)),
            "put_zstd": (lambda: put_hierophant(zst), lambda: put_nginx(zst)),
            "get": (lambda: get(f"{hiero.public_url}/proofs/{token}"), lambda: get(f"{ngx}/blob")),
        }
        summary = []
        for metric, (hiero_run, ngx_run) in metrics.items():
            times = {"hierophant": [], "nginx": []}
            for i in range(args.rounds):
                for name, fn in (("hierophant", hiero_run), ("nginx", ngx_run)):
                    t = fn()
                    times[name].append(t)
                    print(f"# {metric:8s} round {i + 1} {name:10s} {t:6.2f} s  {size / MiB / t:7.0f} MiB/s",
                          flush=True)
            th, tn = h.median(times["hierophant"]), h.median(times["nginx"])
            ratio = tn / th
            summary.append(f"{metric}_mib_s hierophant={size / MiB / th:.0f} nginx={size / MiB / tn:.0f} "
                           f"ratio={ratio:.2f} (target >= {TARGETS[metric]}) {h.verdict(ratio, TARGETS[metric])}")
            print(f"# hierophant peak RSS so far {hiero.vm_hwm_kib() / 1000:.0f} MB", flush=True)
        channel.close()
        rss_mb = hiero.vm_hwm_kib() * 1024 / 1e6
        summary.append(f"peak_rss_mb hierophant={rss_mb:.0f} (target < {RSS_TARGET_MB}) "
                       f"{'PASS' if rss_mb < RSS_TARGET_MB else 'MISS'}")
        print("\n".join(summary))
        return 0
    return 130          # interrupted; h.session() stopped everything


if __name__ == "__main__":
    sys.exit(main())
