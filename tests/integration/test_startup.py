"""Start-up failures and warnings that explain themselves (issue 8)."""
from __future__ import annotations

import pytest

from hierophant.startup_warnings import EXAMPLE_WORKER_TOKEN
from tests.integration.harness import WORKER_TOKEN, free_port, run_twistd_expecting_failure


def _one_line(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in output, output
    return lines[0]


@pytest.mark.parametrize("daemon,variable", [("hierophant", "HIEROPHANT_GRPC_THREAD"),
                                             ("contemplant", "CONTEMPLANT_PROVERS_0_DELAY")])
def test_an_unknown_environment_override_stops_start_up(tmp_path, daemon, variable):
    values = {"worker_token": WORKER_TOKEN, "data_dir": str(tmp_path / "d"), "grpc_port": free_port(),
              "http_port": free_port()}
    if daemon == "contemplant":
        values = {"worker_token": WORKER_TOKEN, "state_dir": str(tmp_path / "s"), "http_port": free_port(),
                  "provers": [{"backend": "mock"}]}
    code, output = run_twistd_expecting_failure(tmp_path, values, env={variable: "8"}, daemon=daemon)
    assert code == 2
    assert variable in _one_line(output)


def test_exempt_variables_do_not_stop_start_up(tmp_path):
    values = {"worker_token": WORKER_TOKEN, "data_dir": str(tmp_path / "d"), "grpc_port": free_port(),
              "http_port": free_port(), "grpc_threads": 0}       # fails later, on its own bad value
    code, output = run_twistd_expecting_failure(tmp_path, values, env={"HIEROPHANT_SLOW_TESTS": "0"})
    assert code == 2 and "grpc_threads" in _one_line(output) and "SLOW_TESTS" not in output


def test_risky_addresses_are_warned_about(make_hierophant):
    other = free_port()
    h = make_hierophant(bind_address="0.0.0.0", worker_token=EXAMPLE_WORKER_TOKEN,
                        public_url=f"http://127.0.0.1:{other}")
    log = h.log()
    assert "worker_token is the example" in log and 'auth.mode is "none"' in log
    assert f"every upload and worker URL will point at port {other}" in log and "behind a proxy" in log


def test_a_plain_local_configuration_is_not_warned_about(hierophant):
    assert "[hierophant#warn]" not in hierophant.log()
