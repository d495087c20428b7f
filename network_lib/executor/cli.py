"""`hierophant-exec ELF STDIN_FILE [--cycle-limit N] [--json]`: run an SP1 guest locally.

STDIN_FILE is SP1Stdin bincode, raw or zstd (magic 28 b5 2f fd, prover-backends.md §3.6).
Exit status: 0 on a clean HALT(0); 1 for a guest failure (message on stderr names the
cause); 2 for unusable inputs.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from . import ExecutionError, GuestError, execute

ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


def read_stdin_file(path: Path) -> bytes:
    data = path.read_bytes()
    if data[:4] == ZSTD_MAGIC:
        import zstandard

        return zstandard.ZstdDecompressor().decompressobj().decompress(data)
    return data


class ProgressBar:
    """A one-line cycle counter on stderr, shown only when stderr is a TTY."""

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self.start = time.monotonic()
        self.shown = False

    def __call__(self, cycles: int) -> None:
        rate = cycles / max(time.monotonic() - self.start, 1e-9)
        pct = f" {100 * cycles / self.limit:5.1f}% of limit" if self.limit else ""
        sys.stderr.write(f"\r{cycles:>15,} cycles{pct}  {rate / 1e6:8.1f} M cycles/s")
        sys.stderr.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            sys.stderr.write("\n")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="hierophant-exec", description="Execute an SP1 guest ELF.")
    p.add_argument("elf", type=Path, help="guest ELF (v6 RV64IM or v5 RV32IM)")
    p.add_argument("stdin", type=Path, help="SP1Stdin bincode file (raw or zstd)")
    p.add_argument("--cycle-limit", type=int, default=None, help="fail beyond N cycles")
    p.add_argument("--json", action="store_true", help="print one JSON object on the last line")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        elf, stdin = args.elf.read_bytes(), read_stdin_file(args.stdin)
    except Exception as exc:  # noqa: BLE001 - unreadable input files
        print(f"hierophant-exec: cannot read inputs: {exc}", file=sys.stderr)
        return 2
    bar = ProgressBar(args.cycle_limit) if sys.stderr.isatty() else None
    started = time.monotonic()
    try:
        report = execute(elf, stdin, args.cycle_limit, bar)
    except GuestError as exc:
        _close(bar)
        print(f"hierophant-exec: guest failed ({exc.cause.name}): {exc}", file=sys.stderr)
        return 1
    except ExecutionError as exc:
        _close(bar)
        print(f"hierophant-exec: {exc}", file=sys.stderr)
        return 2
    _close(bar)
    wall = time.monotonic() - started
    if args.json:
        print(json.dumps({"cycles": report.cycles, "public_values": report.public_values.hex(),
                          "exit_code": report.exit_code,
                          "public_values_digest": report.public_values_digest.hex(),
                          "version": report.version, "wall_s": round(wall, 3)}))
    else:
        print(f"cycles: {report.cycles:,}\nexit code: {report.exit_code}\n"
              f"public values: {report.public_values.hex()}\n"
              f"committed digest: {report.public_values_digest.hex()}\nwall: {wall:.2f}s")
    return 0


def _close(bar: ProgressBar | None) -> None:
    if bar is not None:
        bar.close()


if __name__ == "__main__":
    sys.exit(main())
