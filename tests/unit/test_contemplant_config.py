"""The contemplant's configuration (DESIGN.md "Configuration keys", etc/contemplant.toml)."""
from __future__ import annotations

import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

from contemplant import backends
from contemplant.config import load_config
from contemplant.names import names
from network_lib.config import ConfigError
from network_lib.versions import CIRCUIT_VERSIONS

REPO = Path(__file__).resolve().parents[2]
MOCK = '\n[[provers]]\nbackend = "mock"\n'


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "contemplant.toml"
    p.write_text(text)
    return p


def load(tmp_path, text, env=None):
    return load_config(write(tmp_path, text), env or {})


def test_defaults(tmp_path):
    cfg = load(tmp_path, 'worker_token = "t"' + MOCK)
    assert cfg.hierophant_ws_address == ("ws://127.0.0.1:9010/ws",)
    assert cfg.state_dir == "var/contemplant" and cfg.http_port == 9011
    (p,) = cfg.provers
    assert (p.backend, p.delay_secs, p.slots, p.fail) == ("mock", 1.0, 1, "none")
    assert p.circuit_versions == CIRCUIT_VERSIONS
    assert cfg.name is None and cfg.drain_timeout_secs == 60   # the name: StateDir.name


def test_shipped_example_loads():
    cfg = load_config(REPO / "etc" / "contemplant.toml", {})
    assert cfg.provers[0].backend == "mock"


def test_names_list_is_package_data():
    assert resources.files("contemplant").joinpath("names.txt").is_file()
    assert len(names()) > 50
    assert "contemplant = *.txt" in (REPO / "setup.cfg").read_text()


@pytest.mark.parametrize("text, needle", [
    ("" + MOCK, "missing required key worker_token"),
    ('worker_token = "t"\n', "at least one [[provers]]"),
    ('worker_token = "t"\nhierophant_ws_address = "http://x/ws"' + MOCK, "hierophant_ws_address"),
    ('worker_token = "t"\nhttp_port = 70000' + MOCK, "http_port"),
    ('worker_token = "t"\nbogus = 1' + MOCK, "bogus"),
    ('worker_token = "t"' + MOCK + 'fail = "sometimes"', "provers.0.fail"),
    ('worker_token = "t"' + MOCK + 'slots = 0', "provers.0.slots"),
    ('worker_token = "t"' + MOCK + 'circuit_versions = ["v7.0.0"]', "provers.0.circuit_versions"),
    ('worker_token = "t"\n[[provers]]\nbackend = "cuda"', "provers.0.backend"),
    ('worker_token = "t"' + MOCK + 'binary = "/bin/x"', "provers.0.binary is not a key of backend 'mock'"),
    ('worker_token = "t"\n[[provers]]\nbackend = "sp1-gpu"\nsp1_version = "6.4.0"\ndelay_secs = 2',
     "provers.0.delay_secs is not a key of backend 'sp1-gpu'"),
    ('worker_token = "t"\n[[provers]]\nbackend = "sp1-gpu"', "provers.0.sp1_version"),
    ('worker_token = "t"\n[[provers]]\nbackend = "command"\nsp1_version = "6.4.0"', "provers.0.command"),
    ('worker_token = "t"' + MOCK + '[[provers]]\nbackend = "moongate"\nmodes = [1]',
     "provers.1.modes is not a key of backend 'moongate'"),
])
def test_errors_name_the_key(tmp_path, text, needle):
    with pytest.raises(ConfigError, match=None) as e:
        load(tmp_path, text)
    assert needle in str(e.value)


def test_per_backend_defaults(tmp_path):
    cfg = load(tmp_path, 'worker_token = "t"\n[[provers]]\nbackend = "sp1-gpu"\nsp1_version = "6.4.0"\n'
                         '[[provers]]\nbackend = "moongate"\n'
                         '[[provers]]\nbackend = "command"\ncommand = "prove"\nsp1_version = "5.2.0"\n')
    gpu, moon, cmd = cfg.provers
    assert (gpu.binary, gpu.gpus, gpu.launch, gpu.socket_dir) == ("~/.sp1/bin/sp1-gpu-server", (0,), "spawn", "/tmp")
    assert gpu.delay_secs is None and gpu.slots is None
    assert (moon.launch, moon.gpus, moon.endpoint) == ("docker", (0,), None)
    assert "moongate" in moon.image
    assert (cmd.slots, cmd.modes) == (1, (1, 2, 3, 4))


def test_environment_overrides(tmp_path):
    cfg = load(tmp_path, 'worker_token = "t"' + MOCK + "delay_secs = 3\n",
               {"CONTEMPLANT_WORKER_TOKEN": "from-env", "CONTEMPLANT_NAME": "bezalel",
                "CONTEMPLANT_PROVERS_0_DELAY_SECS": "0.25",
                "CONTEMPLANT_PROVERS_0_CIRCUIT_VERSIONS": "v6.1.0"})
    assert cfg.worker_token == "from-env" and cfg.name == "bezalel"
    assert cfg.provers[0].delay_secs == 0.25
    assert cfg.provers[0].circuit_versions == ("v6.1.0",)


def test_build_checks_what_a_backend_needs(tmp_path):
    # sp1-gpu runs `<binary> --version` first: a missing binary stops start-up, naming it.
    cfg = load(tmp_path, 'worker_token = "t"\n[[provers]]\nbackend = "sp1-gpu"\nsp1_version = "6.4.0"\n'
                         f'binary = "{tmp_path}/no-such-server"\n')
    with pytest.raises(ConfigError, match="no-such-server"):
        backends.build(cfg.provers[0], 0)
    assert backends.build(load(tmp_path, 'worker_token = "t"' + MOCK).provers[0], 0).capabilities.slots == 1


def test_twistd_configuration_error_exits_2(tmp_path):
    path = write(tmp_path, 'worker_token = "t"\n[[provers]]\nbackend = "mock"\nbinary = "x"\n')
    twistd = Path(sys.executable).with_name("twistd")
    proc = subprocess.run([str(twistd), "-n", "--pidfile=", "contemplant", "-c", str(path)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "contemplant: configuration error: provers.0.binary is not a key of backend 'mock'" in proc.stderr
