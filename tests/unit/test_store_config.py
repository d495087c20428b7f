"""`[store]` and `[artifacts]`: the keys are checked and named, and a hierophant that cannot
reach its PostgreSQL or its bucket at start-up exits with status 3 and the reason."""
from __future__ import annotations

import pytest

from hierophant.config import load_config
from network_lib.config import ConfigError
from tests.integration.harness import free_port, run_twistd_expecting_failure

ENV = {"HIEROPHANT_WORKER_TOKEN": "t"}


def test_the_example_config_keeps_sqlite_and_files():
    cfg = load_config("etc/hierophant.toml", environ=ENV)
    assert cfg.store.url is None and cfg.artifacts.backend == "files"


@pytest.mark.parametrize("env,match", [
    ({"HIEROPHANT_STORE_URL": "mysql://x@y/z"}, "store.url"),
    ({"HIEROPHANT_ARTIFACTS_BACKEND": "gcs"}, "artifacts.backend"),
    ({"HIEROPHANT_ARTIFACTS_BACKEND": "s3"}, "artifacts.s3_bucket"),
    ({"HIEROPHANT_ARTIFACTS_BACKEND": "s3", "HIEROPHANT_ARTIFACTS_S3_BUCKET": "b",
      "HIEROPHANT_ARTIFACTS_S3_ENDPOINT": "localhost:9000"}, "artifacts.s3_endpoint"),
])
def test_bad_values_are_named(env, match):
    with pytest.raises(ConfigError, match=match):
        load_config(None, environ={**ENV, **env})


def test_postgres_and_s3_settings_load():
    cfg = load_config(None, environ={**ENV, "HIEROPHANT_STORE_URL": "postgresql://u:p@h:5432/d",
                                     "HIEROPHANT_ARTIFACTS_BACKEND": "s3", "HIEROPHANT_ARTIFACTS_S3_BUCKET": "b",
                                     "HIEROPHANT_ARTIFACTS_S3_ENDPOINT": "http://127.0.0.1:8333"})
    assert cfg.store.url.startswith("postgresql://") and cfg.artifacts.s3_bucket == "b"


@pytest.mark.parametrize("table,values,reason", [
    ("store", {"url": "postgresql://hierophant:pw@127.0.0.1:{port}/db"}, "PostgreSQL at postgresql://hierophant@127.0.0.1"),
    ("artifacts", {"backend": "s3", "s3_endpoint": "http://127.0.0.1:{port}", "s3_bucket": "gone"}, "bucket 'gone'"),
])
def test_unreachable_at_start_up_exits_3_with_the_reason(tmp_path, table, values, reason):
    port = free_port()      # nothing listens there
    values = {k: v.format(port=port) for k, v in values.items()}
    code, out = run_twistd_expecting_failure(tmp_path, {
        "worker_token": "t", "data_dir": str(tmp_path / "data"), "grpc_port": free_port(),
        "http_port": free_port(), table: values}, timeout=120)
    assert code == 3, out
    assert "cannot start" in out and reason in out and "pw@" not in out
