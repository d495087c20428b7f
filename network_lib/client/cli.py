"""``hierophant-client``: talk to an SP1 prover network the way sp1-sdk does.

Exit status: 0 success, 1 error (network, server, files, bad input), 2 usage error,
3 the proof request failed (unfulfillable, unexecutable, timed out, ...), 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import struct
import sys
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from google.protobuf.message import Message

from network_lib import bincode, signing
from network_lib.client import reasons
from network_lib.client.errors import ClientError, RequestFailed
from network_lib.client.network import NetworkClient, proof_version
from network_lib.client.profiles import PROFILES
from network_lib.proto import network_pb2 as pb

DEFAULT_RPC_URL = "http://127.0.0.1:9000"
EXIT_ERROR, EXIT_USAGE, EXIT_REQUEST_FAILED, EXIT_INTERRUPTED = 1, 2, 3, 130
MODES = ("core", "compressed", "plonk", "groth16")
_TAG_NAMES = {0: "core", 1: "compressed", 2: "plonk", 3: "groth16"}

EPILOG = """\
environment:
  NETWORK_RPC_URL       default for --rpc-url (else http://127.0.0.1:9000)
  NETWORK_PRIVATE_KEY   default for --private-key (hex, 0x optional)

Signed commands (register, request, prove) need a key, or --unsigned for servers
running auth.mode = none. There is no built-in test key.

examples:
  hierophant-client stdin --u64 1000 --out in.bin
  hierophant-client prove --elf fib.elf --vk-hash 0x.. --stdin in.bin --mode plonk --out proof.bin
  hierophant-client --sdk 5.0 request --vk-hash 0x.. --stdin in.bin
  hierophant-client wait 0x<request id> --out proof.bin
"""


# --- stdin builder -----------------------------------------------------------------------

_INT_FORMATS = {"u8": "<B", "u16": "<H", "u32": "<I", "u64": "<Q", "i32": "<i", "i64": "<q"}


class _AppendItem(argparse.Action):
    """Collects ``(kind, value)`` in command-line order into ``namespace.items``."""

    def __call__(
        self, parser: argparse.ArgumentParser, ns: argparse.Namespace, value: Any, option: Any = None
    ) -> None:
        items = getattr(ns, "items", None) or []
        items.append((self.dest, value))
        ns.items = items


def encode_stdin_item(kind: str, value: str) -> bytes:
    """One ``SP1Stdin.write``/``write_vec`` buffer: bincode of the value, or raw bytes."""
    if kind in _INT_FORMATS:
        try:
            return struct.pack(_INT_FORMATS[kind], int(value, 0))
        except (ValueError, struct.error):
            raise ValueError(f"--{kind}: {value!r} is not a valid {kind}") from None
    if kind == "bool":
        if value.lower() not in ("true", "false", "1", "0"):
            raise ValueError(f"--bool: {value!r} is not true/false")
        return bytes((value.lower() in ("true", "1"),))
    if kind == "string":
        return bincode.Writer().string(value).getvalue()
    if kind == "file":
        return Path(value).read_bytes()
    raw = _hex(value, f"--{kind}")
    return raw if kind == "bytes" else bincode.Writer().bytes(raw).getvalue()  # vec: Vec<u8>


def _hex(text: str, what: str) -> bytes:
    h = text[2:] if text[:2] in ("0x", "0X") else text
    try:
        return bytes.fromhex(h)
    except ValueError:
        raise ValueError(f"{what}: {text!r} is not hex") from None


# --- parser ------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="hierophant-client",
        description="Client for SP1 prover networks (Succinct's contract), behaving like sp1-sdk.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--rpc-url", default=os.environ.get("NETWORK_RPC_URL") or DEFAULT_RPC_URL,
                   help="gRPC endpoint, http://host:port or https://host[:port] (default: %(default)s)")
    p.add_argument("--http-url",
                   help="the hierophant's HTTP base, asked why a request failed and how far it got "
                        "(default: the RPC host, port + 10, as in the default configuration)")
    p.add_argument("--private-key", default=os.environ.get("NETWORK_PRIVATE_KEY"),
                   help="signing key in hex (default: $NETWORK_PRIVATE_KEY)")
    p.add_argument("--unsigned", action="store_true",
                   help="send empty signatures and the zero address (servers with auth.mode = none)")
    p.add_argument("--sdk", choices=sorted(PROFILES), default="6.x",
                   help="which sp1-sdk to behave like: 5.0 (v=0/1, raw uploads), 5.2 (raw uploads), "
                        "6.x (zstd uploads, sp1-v6.1.0) (default: %(default)s)")
    p.add_argument("--retry-budget", type=float, default=120.0, metavar="S",
                   help="how long to retry transient errors, as the SDK does (default: %(default)s)")
    p.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for add in (_add_register, _add_request, _add_status, _add_wait, _add_prove, _add_details,
                _add_list, _add_nonce, _add_balance, _add_address, _add_stdin):
        add(sub)
    return p


def _program_args(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--elf", required=True, type=Path, help="the raw RISC-V ELF of the program")
    sp.add_argument("--vk-hash", required=True, help="32-byte program id in hex, as the SDK sends it")
    sp.add_argument("--vk", type=Path,
                    help="file with bincode(SP1VerifyingKey) as the SDK uploads it; stored opaquely "
                         "and handed to provers. Omit to register an empty vk: enough for mock "
                         "provers, real provers need the real key")


def _request_args(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--stdin", required=True, type=Path,
                    help="file with bincode(SP1Stdin) (make one with the 'stdin' command)")
    sp.add_argument("--mode", choices=MODES, default="core", help="proof mode (default: %(default)s)")
    sp.add_argument("--timeout", type=int, metavar="S",
                    help="request deadline in seconds from now (default 14400)")
    sp.add_argument("--cycle-limit", type=int, default=100_000_000, help="default: %(default)s")
    sp.add_argument("--gas-limit", type=int, default=1_000_000_000, help="default: %(default)s")
    sp.add_argument("--strategy", choices=("hosted", "reserved"), default="hosted")
    sp.add_argument("--private-stdin", action="store_true", help="upload as PRIVATE_STDIN (6.x only)")
    sp.add_argument("--hosted", action="store_true",
                    help="6.x hosted(): cycle and gas limits = u64::MAX")


def _add_register(sub: Any) -> None:
    sp = sub.add_parser("register", help="register a program (skipped if already known)")
    _program_args(sp)


def _add_request(sub: Any) -> None:
    sp = sub.add_parser("request", help="upload stdin and request a proof; prints the 0x request id")
    sp.add_argument("--vk-hash", required=True, help="32-byte id of a registered program, hex")
    _request_args(sp)


def _add_status(sub: Any) -> None:
    sp = sub.add_parser("status", help="one status poll, as JSON")
    sp.add_argument("request_id", metavar="ID")


def _add_wait(sub: Any) -> None:
    sp = sub.add_parser("wait", help="poll every 2 s until the proof is ready, then download it")
    sp.add_argument("request_id", metavar="ID")
    sp.add_argument("--out", type=Path, help="write bincode(ProofFromNetwork) here")
    sp.add_argument("--timeout", type=float, metavar="S", help="give up waiting after S seconds")


def _add_prove(sub: Any) -> None:
    sp = sub.add_parser(
        "prove", help="register + request + wait, like client.prove(..).run()",
        description="Register the program (if unknown), request a proof and wait for it. "
                    "--timeout, as the SDK's .timeout(), sets the request deadline and also "
                    "bounds the wait; without it the deadline is 4 h and the wait unbounded.")
    _program_args(sp)
    _request_args(sp)
    sp.add_argument("--out", type=Path, help="write bincode(ProofFromNetwork) here")


def _add_details(sub: Any) -> None:
    sp = sub.add_parser("details", help="GetProofRequestDetails, as JSON")
    sp.add_argument("request_id", metavar="ID")


def _add_list(sub: Any) -> None:
    sp = sub.add_parser("list", help="GetFilteredProofRequests, as JSON")
    sp.add_argument("--fulfillment-status", help="requested, assigned, fulfilled, unfulfillable")
    sp.add_argument("--execution-status", help="unexecuted, executed, unexecutable")
    sp.add_argument("--version", help="e.g. sp1-v6.1.0")
    sp.add_argument("--vk-hash")
    sp.add_argument("--requester", help="20-byte address, hex")
    sp.add_argument("--fulfiller", help="20-byte address, hex")
    sp.add_argument("--mode", choices=MODES)
    sp.add_argument("--minimum-deadline", type=int, metavar="UNIX")
    sp.add_argument("--from", dest="from_", type=int, metavar="UNIX", help="created at or after")
    sp.add_argument("--to", type=int, metavar="UNIX", help="created at or before")
    sp.add_argument("--limit", type=int, help="page size (server default 10, max 100)")
    sp.add_argument("--page", type=int, help="1-based page")


def _add_nonce(sub: Any) -> None:
    sp = sub.add_parser("nonce", help="GetNonce of ADDRESS (default: the key's address)")
    sp.add_argument("address", nargs="?", metavar="ADDRESS")


def _add_balance(sub: Any) -> None:
    sp = sub.add_parser("balance", help="GetBalance of ADDRESS (default: the key's address)")
    sp.add_argument("address", nargs="?", metavar="ADDRESS")


def _add_address(sub: Any) -> None:
    sub.add_parser("address", help="print the address of --private-key (no network)")


def _add_stdin(sub: Any) -> None:
    sp = sub.add_parser(
        "stdin",
        help="build a bincode(SP1Stdin) file (no network)",
        description="Each option appends one buffer, in command-line order, as sp1-sdk's "
                    "SP1Stdin::write (bincode of the value) or write_vec (raw bytes) would.",
    )
    for kind in _INT_FORMATS:
        sp.add_argument(f"--{kind}", dest=kind, action=_AppendItem, metavar="N",
                        help=f"write({kind}) (decimal or 0x)")
    sp.add_argument("--bool", dest="bool", action=_AppendItem, metavar="B", help="write(bool)")
    sp.add_argument("--string", dest="string", action=_AppendItem, metavar="S", help="write(String)")
    sp.add_argument("--vec", dest="vec", action=_AppendItem, metavar="HEX",
                    help="write(Vec<u8>): length-prefixed")
    sp.add_argument("--bytes", dest="bytes", action=_AppendItem, metavar="HEX", help="write_vec: raw bytes")
    sp.add_argument("--file", dest="file", action=_AppendItem, metavar="PATH",
                    help="write_vec of a file's bytes")
    sp.add_argument("--out", required=True, type=Path, help="where to write the SP1Stdin")


# --- output ------------------------------------------------------------------------------


def message_json(msg: Message) -> dict[str, Any]:
    """Set fields of ``msg``: bytes as 0x hex, enums by name, nested messages as objects."""
    return {f.name: _json_value(f, v) for f, v in msg.ListFields()}


def _json_value(field: Any, value: Any) -> Any:
    if field.is_repeated:
        return [_json_scalar(field, v) for v in value]
    return _json_scalar(field, value)


def _json_scalar(field: Any, value: Any) -> Any:
    if field.type == field.TYPE_BYTES:
        return "0x" + value.hex()
    if field.enum_type is not None:
        ev = field.enum_type.values_by_number.get(value)
        return ev.name if ev is not None else value
    if field.message_type is not None:
        return message_json(value)
    return value


def _print_json(obj: Any) -> None:
    print(json.dumps(obj, indent=2))


def describe_proof(proof: bytes) -> str:
    tag = int.from_bytes(proof[:4], "little")
    return (f"{len(proof)} bytes, SP1Proof {_TAG_NAMES.get(tag, tag)}, "
            f"sp1_version {proof_version(proof) or '?'}")


def _emit_proof(proof: bytes, out: Optional[Path]) -> None:
    if out is not None:
        out.write_bytes(proof)
        print(f"wrote proof to {out}: {describe_proof(proof)}")
    else:
        print(f"proof ready: {describe_proof(proof)} (use --out FILE to save it)")


# --- commands ----------------------------------------------------------------------------


def _register(c: NetworkClient, a: argparse.Namespace) -> None:
    vk = a.vk.read_bytes() if a.vk else b""
    created = c.register_program(a.vk_hash, vk, a.elf)
    print("registered" if created else "already registered")


def _request_kwargs(a: argparse.Namespace) -> dict[str, Any]:
    return dict(cycle_limit=a.cycle_limit, gas_limit=a.gas_limit,
                strategy=pb.FulfillmentStrategy.Value(a.strategy.upper()),
                private_stdin=a.private_stdin, hosted=a.hosted)


def _request(c: NetworkClient, a: argparse.Namespace) -> None:
    rid = c.request_proof(a.vk_hash, a.stdin, a.mode, timeout_secs=a.timeout or 14_400, **_request_kwargs(a))
    print("0x" + rid.hex())


def _http_url(a: argparse.Namespace) -> str:
    return a.http_url or reasons.default_http_url(a.rpc_url)


def _with_reason(a: argparse.Namespace, request_id: str, found: dict[str, Any], failed: bool) -> dict[str, Any]:
    """`found` plus the hierophant's `failure_reason` when the request failed."""
    if failed:
        why = reasons.failure_reason(_http_url(a), _hex(request_id, "request id"))
        found["failure_reason"] = why or "(not told: no /requests endpoint answered at " + _http_url(a) + ")"
    return found


def _status(c: NetworkClient, a: argparse.Namespace) -> None:
    st = c.get_proof_status(a.request_id)
    failed = st.fulfillment_status == pb.UNFULFILLABLE or st.execution_status == pb.UNEXECUTABLE
    _print_json(_with_reason(a, a.request_id, message_json(st), failed))


def _progress(a: argparse.Namespace) -> Optional[Callable[[bytes, Any], None]]:
    """A progress bar on a terminal (phase, percent, ETA once known); nothing otherwise."""
    if not sys.stdout.isatty():
        return None
    bar = a.progress_bar = reasons.ProgressBar(sys.stdout)

    def on_poll(request_id: bytes, st: Any) -> None:
        fallback = "proving" if st.fulfillment_status == pb.ASSIGNED else "queued"
        bar.draw(reasons.fetch(_http_url(a), request_id), fallback)
    return on_poll


def _wait(c: NetworkClient, a: argparse.Namespace) -> None:
    proof = c.wait_proof(a.request_id, timeout=a.timeout, on_poll=_progress(a))
    _close_progress(a)
    _emit_proof(proof, a.out)


def _prove(c: NetworkClient, a: argparse.Namespace) -> None:
    vk = a.vk.read_bytes() if a.vk else b""
    proof = c.prove(a.vk_hash, vk, a.elf, a.stdin, a.mode, timeout_secs=a.timeout, on_poll=_progress(a),
                    **_request_kwargs(a))
    _close_progress(a)
    _emit_proof(proof, a.out)


def _details(c: NetworkClient, a: argparse.Namespace) -> None:
    req = c.get_proof_request_details(a.request_id)
    if req is None:
        return _print_json(None)
    failed = req.fulfillment_status == pb.UNFULFILLABLE or req.execution_status == pb.UNEXECUTABLE
    _print_json(_with_reason(a, a.request_id, message_json(req), failed))


def _list(c: NetworkClient, a: argparse.Namespace) -> None:
    keys = ("fulfillment_status", "execution_status", "version", "vk_hash", "requester", "fulfiller",
            "mode", "minimum_deadline", "from_", "to", "limit", "page")
    reqs = c.get_filtered_proof_requests(**{k: getattr(a, k) for k in keys})
    _print_json([message_json(r) for r in reqs])


def _nonce(c: NetworkClient, a: argparse.Namespace) -> None:
    print(c.get_nonce(a.address))


def _balance(c: NetworkClient, a: argparse.Namespace) -> None:
    print(c.get_balance(a.address))


def _address(a: argparse.Namespace) -> None:
    if not a.private_key:
        raise ClientError("no private key: pass --private-key or set NETWORK_PRIVATE_KEY")
    print(signing.address_hex(signing.private_key_to_address(a.private_key)))


def _stdin(a: argparse.Namespace) -> None:
    items = getattr(a, "items", None) or []
    buffers = [encode_stdin_item(kind, value) for kind, value in items]
    data = bincode.SP1Stdin(buffers=buffers).encode()
    a.out.write_bytes(data)
    print(f"wrote SP1Stdin with {len(buffers)} buffer(s), {len(data)} bytes, to {a.out}")


NETWORK_COMMANDS: dict[str, Callable[[NetworkClient, argparse.Namespace], None]] = {
    "register": _register, "request": _request, "status": _status, "wait": _wait,
    "prove": _prove, "details": _details, "list": _list, "nonce": _nonce, "balance": _balance,
}
LOCAL_COMMANDS: dict[str, Callable[[argparse.Namespace], None]] = {"address": _address, "stdin": _stdin}


def _run(a: argparse.Namespace, client_factory: Callable[..., NetworkClient]) -> None:
    if a.command in LOCAL_COMMANDS:
        return LOCAL_COMMANDS[a.command](a)
    with client_factory(
        a.rpc_url, a.private_key or None, a.sdk, unsigned=a.unsigned, retry_budget=a.retry_budget
    ) as client:
        NETWORK_COMMANDS[a.command](client, a)


def main(
    argv: Optional[Sequence[str]] = None,
    client_factory: Callable[..., NetworkClient] = NetworkClient,
) -> int:
    """Entry point of ``hierophant-client``; returns the exit status."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(message)s", stream=sys.stderr)
    try:
        _run(args, client_factory)
    except RequestFailed as e:
        _close_progress(args)
        why = reasons.failure_reason(_http_url(args), e.request_id)
        return _fail(f"{e}: {why}" if why else e, EXIT_REQUEST_FAILED)
    except (ClientError, ValueError, OSError) as e:
        return _fail(e, EXIT_ERROR)
    except KeyboardInterrupt:
        return _fail("interrupted", EXIT_INTERRUPTED)
    finally:
        _close_progress(args)
    return 0


def _close_progress(a: argparse.Namespace) -> None:
    bar = getattr(a, "progress_bar", None)
    if bar is not None:
        bar.close()


def _fail(err: object, code: int) -> int:
    print(f"hierophant-client: error: {err}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
