"""Artifact bytes in an S3-compatible bucket (`[artifacts] backend = "s3"`): the `s3` blob store
of hierophant/blobs.py.

Bytes still pass through the hierophant, streamed: an upload is spooled to a local temp file
(decoded and checked as it arrives), then `commit` sends it with boto3's transfer manager
(multipart above MULTIPART_BYTES, parts of PART_BYTES, a few in parallel; a failed multipart
upload is aborted by it) and only then is the upload acknowledged. Reads stream the object's
body (HTTP Range for an offset) in chunks. Object keys are the artifact ids, which are
random. boto3 clients are thread-safe; every method blocks and runs on a pool thread.

Start-up checks the bucket answers, and aborts multipart uploads a killed hierophant left
behind (the analogue of dropping partial temp files). Credentials: `AWS_ACCESS_KEY_ID` /
`AWS_SECRET_ACCESS_KEY` (else boto3's usual chain).
"""
from __future__ import annotations

import logging
import secrets
import shutil
from pathlib import Path
from typing import BinaryIO

import boto3
import botocore.exceptions
from boto3.s3.transfer import TransferConfig
from botocore.config import Config

from hierophant.errors import StoreUnavailable

log = logging.getLogger(__name__)
# boto's debug logs print every request's signing material and flood the log: INFO at most.
for _name in ("boto3", "botocore", "s3transfer", "urllib3"):
    logging.getLogger(_name).setLevel(logging.INFO)

MIB = 1 << 20
MULTIPART_BYTES = 64 * MIB
PART_BYTES = 16 * MIB
_TRANSFER = TransferConfig(multipart_threshold=MULTIPART_BYTES, multipart_chunksize=PART_BYTES,
                           max_concurrency=4, use_threads=True)
_ERRORS = (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError,
           boto3.exceptions.Boto3Error)


class S3Blobs:
    local = False

    def __init__(self, endpoint: str | None, bucket: str, region: str | None, temp_dir: Path,
                 access_key: str | None = None, secret_key: str | None = None) -> None:
        self.bucket = bucket
        self.where = f"bucket {bucket!r}" + (f" at {endpoint}" if endpoint else "")
        self.tmp = temp_dir
        self.tmp.mkdir(parents=True, exist_ok=True)
        config = Config(connect_timeout=5, read_timeout=60, retries={"max_attempts": 3, "mode": "standard"},
                        s3={"addressing_style": "path"} if endpoint else None,
                        max_pool_connections=32)
        self.s3 = boto3.session.Session().client(
            "s3", endpoint_url=endpoint or None, region_name=region or None, config=config,
            aws_access_key_id=access_key or None, aws_secret_access_key=secret_key or None)
        try:
            self.s3.head_bucket(Bucket=bucket)
        except _ERRORS as e:
            raise StoreUnavailable(f"artifact {self.where} cannot be used: {_reason(e)}") from None

    def _unavailable(self, what: str, e: Exception) -> StoreUnavailable:
        return StoreUnavailable(f"artifact {self.where} is unavailable ({what}): {_reason(e)}")

    def new_temp(self) -> Path:
        return self.tmp / f"upload-{secrets.token_hex(12)}"

    def commit(self, temp: Path, blob_id: str) -> None:
        try:
            self.s3.upload_file(str(temp), self.bucket, blob_id, Config=_TRANSFER)
        except _ERRORS as e:
            raise self._unavailable("storing an artifact", e) from None
        finally:
            temp.unlink(missing_ok=True)

    def remove(self, blob_id: str) -> None:
        try:
            self.s3.delete_object(Bucket=self.bucket, Key=blob_id)
        except _ERRORS as e:
            raise self._unavailable("deleting an artifact", e) from None

    def exists(self, blob_id: str) -> bool:
        try:
            self.s3.head_object(Bucket=self.bucket, Key=blob_id)
            return True
        except botocore.exceptions.ClientError as e:
            if _status(e) == 404:
                return False
            raise self._unavailable("looking up an artifact", e) from None
        except _ERRORS as e:
            raise self._unavailable("looking up an artifact", e) from None

    def open(self, blob_id: str, offset: int = 0) -> tuple[int, BinaryIO]:
        args = {"Range": f"bytes={offset}-"} if offset else {}
        try:
            obj = self.s3.get_object(Bucket=self.bucket, Key=blob_id, **args)
        except botocore.exceptions.ClientError as e:
            if _status(e) == 404 or e.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise FileNotFoundError(blob_id) from None
            if _status(e) == 416:       # offset at the end: an empty range
                return 0, _Empty()
            raise self._unavailable("reading an artifact", e) from None
        except _ERRORS as e:
            raise self._unavailable("reading an artifact", e) from None
        return obj["ContentLength"], obj["Body"]

    def materialize(self, blob_id: str) -> Path:
        path = self.tmp / f"local-{secrets.token_hex(12)}"
        try:
            _, body = self.open(blob_id)
            with body, open(path, "wb") as out:
                shutil.copyfileobj(body, out, MIB)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return path

    def release(self, path: Path) -> None:
        path.unlink(missing_ok=True)

    def clear_temp(self) -> int:
        """Drop local partial uploads and abort the bucket's unfinished multipart uploads."""
        n = 0
        for p in self.tmp.iterdir():
            p.unlink(missing_ok=True)
            n += 1
        try:
            pages = self.s3.get_paginator("list_multipart_uploads").paginate(Bucket=self.bucket)
            for page in pages:
                for u in page.get("Uploads", []):
                    self.s3.abort_multipart_upload(Bucket=self.bucket, Key=u["Key"], UploadId=u["UploadId"])
                    n += 1
        except _ERRORS as e:
            log.warning("could not abort unfinished multipart uploads in %s: %s", self.where, _reason(e))
        return n


class _Empty:
    def read(self, n: int = -1) -> bytes:
        return b""

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        pass


def _status(e: botocore.exceptions.ClientError) -> int | None:
    return e.response.get("ResponseMetadata", {}).get("HTTPStatusCode")


def _reason(e: Exception) -> str:
    return str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
