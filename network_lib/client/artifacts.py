"""Artifact bodies and their HTTP transfer (sdk-network-contract.md §4).

Standard library only (``http.client``): one connection per transfer (reqwest's
``pool_max_idle_per_host(0)``), no Content-Type, streamed bodies. 6.x bodies are zstd level 3
produced by a streaming compressor, so the frame carries no content size (§4.2); a file is
compressed chunk by chunk into a spooled temporary file, never into one big bytes object.
"""

from __future__ import annotations

import http.client
import os
import shutil
import ssl
import tempfile
from pathlib import Path
from typing import BinaryIO, Iterator, Optional, Sequence, Union
from urllib.parse import urljoin, urlsplit

import zstandard

from network_lib.client.errors import ClientError, DownloadError, HttpStatusError, TransportError

CHUNK = 1 << 20
ZSTD_LEVEL = 3  # §4.2
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
SPOOL_MAX = 64 << 20  # compressed bodies above this spill to a temporary file
MAX_REDIRECTS = 10  # reqwest's default policy (§4.4)
_ERROR_BODY_MAX = 4096

Part = Union[bytes, bytearray, memoryview, str, os.PathLike]


class Payload:
    """A re-readable upload body made of byte strings and file paths (str / PathLike)."""

    def __init__(self, parts: Sequence[Part]) -> None:
        self._parts = [p if isinstance(p, (bytes, bytearray, memoryview)) else Path(p) for p in parts]

    @property
    def length(self) -> int:
        return sum(p.stat().st_size if isinstance(p, Path) else len(p) for p in self._parts)

    def chunks(self) -> Iterator[bytes]:
        for part in self._parts:
            if isinstance(part, Path):
                with part.open("rb") as f:
                    yield from _read_chunks(f)
            else:
                yield from (bytes(part[i:i + CHUNK]) for i in range(0, len(part), CHUNK))

    def close(self) -> None:
        pass


class SpooledPayload(Payload):
    """A body held in a spooled temporary file (used for compressed output)."""

    def __init__(self, spool: BinaryIO, length: int) -> None:
        self._spool, self._length = spool, length

    @property
    def length(self) -> int:
        return self._length

    def chunks(self) -> Iterator[bytes]:
        self._spool.seek(0)
        yield from _read_chunks(self._spool)

    def close(self) -> None:
        self._spool.close()


def _read_chunks(f: BinaryIO) -> Iterator[bytes]:
    while chunk := f.read(CHUNK):
        yield chunk


def zstd_compress(payload: Payload) -> SpooledPayload:
    """zstd level 3 of ``payload``, streamed, without a content-size field (§4.2)."""
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_MAX)
    cctx = zstandard.ZstdCompressor(level=ZSTD_LEVEL, write_content_size=False)
    comp = cctx.compressobj()
    for chunk in payload.chunks():
        spool.write(comp.compress(chunk))
    spool.write(comp.flush(zstandard.COMPRESSOBJ_FLUSH_FINISH))
    return SpooledPayload(spool, spool.tell())


def zstd_decompress(data: bytes) -> bytes:
    """Decode a frame that may lack a content size (``decompress()`` would refuse, §4.2)."""
    return zstandard.ZstdDecompressor().decompressobj().decompress(data)


def _connect(url: str, timeout: Optional[float]) -> tuple[http.client.HTTPConnection, str]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ClientError(f"unsupported artifact URL {url!r} (need an absolute http(s) URL)")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if parts.scheme == "https":
        ctx = ssl.create_default_context()
        return http.client.HTTPSConnection(parts.hostname, parts.port, timeout=timeout, context=ctx), path
    return http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout), path


def _error_body(resp: http.client.HTTPResponse) -> str:
    try:
        return resp.read(_ERROR_BODY_MAX).decode("utf-8", "replace").strip()
    except (OSError, http.client.HTTPException):
        return ""


def http_put(url: str, payload: Payload, timeout: Optional[float] = None) -> None:
    """PUT ``payload`` with a Content-Length and no Content-Type; 2xx or an error (§4.2, §4.5).

    Connection failures raise :class:`TransportError` (transient); non-2xx raises
    :class:`HttpStatusError` with the server's body text (permanent).
    """
    conn, path = _connect(url, timeout)
    try:
        resp = _send_put(conn, path, payload, url)
        if not 200 <= resp.status < 300:
            raise HttpStatusError("PUT", url, resp.status, _error_body(resp))
        resp.read()
    finally:
        conn.close()


def _send_put(conn: http.client.HTTPConnection, path: str, payload: Payload, url: str):
    try:
        conn.putrequest("PUT", path, skip_accept_encoding=True)
        conn.putheader("Content-Length", str(payload.length))
        conn.endheaders()
        for chunk in payload.chunks():
            conn.send(chunk)
    except (OSError, http.client.HTTPException) as e:
        early = _early_response(conn)  # a server may answer (413, 409...) before reading it all
        if early is None:
            raise TransportError(f"error sending request for url ({url}): {e}") from e
        return early
    try:
        return conn.getresponse()
    except (OSError, http.client.HTTPException) as e:
        raise TransportError(f"error sending request for url ({url}): {e}") from e


def _early_response(conn: http.client.HTTPConnection):
    try:
        return conn.getresponse()
    except Exception:
        return None


def http_get(url: str, timeout: Optional[float] = None, dest: Optional[BinaryIO] = None) -> bytes:
    """GET ``url`` following redirects; the body is returned, or streamed into ``dest``.

    Connection failures raise :class:`DownloadError` (permanent, §4.5); non-2xx raises
    :class:`HttpStatusError`.
    """
    for _ in range(MAX_REDIRECTS + 1):
        conn, path = _connect(url, timeout)
        try:
            resp = _send_get(conn, path, url)
            location = resp.getheader("Location")
            if resp.status in (301, 302, 303, 307, 308) and location:
                url = urljoin(url, location)
                continue
            if not 200 <= resp.status < 300:
                raise HttpStatusError("GET", url, resp.status, _error_body(resp))
            return _read_body(resp, dest, url)
        finally:
            conn.close()
    raise DownloadError(f"Failed to download from URI {url}: too many redirects")


def _send_get(conn: http.client.HTTPConnection, path: str, url: str) -> http.client.HTTPResponse:
    try:
        conn.request("GET", path)
        return conn.getresponse()
    except (OSError, http.client.HTTPException) as e:
        raise DownloadError(f"Failed to download from URI {url}: {e}") from e


def _read_body(resp: http.client.HTTPResponse, dest: Optional[BinaryIO], url: str) -> bytes:
    try:
        if dest is None:
            return resp.read()
        shutil.copyfileobj(resp, dest, CHUNK)
        return b""
    except (OSError, http.client.HTTPException) as e:
        raise DownloadError(f"Failed to download from URI {url}: {e}") from e


class HttpClient:
    """The default artifact transfer used by :class:`NetworkClient`; tests substitute fakes.

    ``timeout`` bounds each socket operation (connect, each read/write), not the whole
    transfer; the SDK sets none at all (§4.2), None here restores that.
    """

    def __init__(self, timeout: Optional[float] = 300.0) -> None:
        self.timeout = timeout

    def put(self, url: str, payload: Payload) -> None:
        http_put(url, payload, self.timeout)

    def get(self, url: str, dest: Optional[BinaryIO] = None) -> bytes:
        return http_get(url, self.timeout, dest)
