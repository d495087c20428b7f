import pytest

from network_lib import versions
from network_lib.versions import ProofMode


@pytest.mark.parametrize(
    "request_version, circuit",
    [("sp1-v5.0.0", "v5.0.0"), ("sp1-v6.0.0", "v6.0.0"), ("sp1-v6.1.0", "v6.1.0")],
)
def test_request_version_maps_to_circuit(request_version, circuit):
    assert versions.circuit_from_request_version(request_version) == circuit
    assert versions.request_version(circuit) == request_version


@pytest.mark.parametrize(
    "bad", ["sp1-v6.2.0", "v6.1.0", "sp1-v4.0.0", "", "SP1-v6.1.0", "sp1-v6.1.0 ", "sp1-"]
)
def test_unknown_request_version_refused_naming_value(bad):
    with pytest.raises(ValueError) as e:
        versions.circuit_from_request_version(bad)
    assert repr(bad) in str(e.value)


@pytest.mark.parametrize(
    "crate, circuit",
    [
        ("5.0.0", "v5.0.0"),
        ("5.0.8", "v5.0.0"),
        ("5.1.3", "v5.0.0"),
        ("5.2.4", "v5.0.0"),
        ("6.0.0", "v6.0.0"),
        ("6.0.2", "v6.0.0"),
        ("6.1.0", "v6.1.0"),
        ("6.2.1", "v6.1.0"),
        ("6.3.1", "v6.1.0"),
        ("6.4.0", "v6.1.0"),
        ("6.4.9", "v6.1.0"),
        ("v6.4.0", "v6.1.0"),
        ("6.4.0-rc.1", "v6.1.0"),
    ],
)
def test_crate_version_maps_to_circuit(crate, circuit):
    assert versions.circuit_from_crate_version(crate) == circuit


@pytest.mark.parametrize("bad", ["4.9.9", "6.5.0", "7.0.0", "6.4", "six", "", "6.4.0.1"])
def test_unknown_crate_version_refused(bad):
    with pytest.raises(ValueError) as e:
        versions.circuit_from_crate_version(bad)
    assert repr(bad) in str(e.value)


def test_major_and_public_input_counts():
    assert [versions.major(c) for c in versions.CIRCUIT_VERSIONS] == [5, 6, 6]
    assert versions.plonk_public_inputs_count("v5.0.0") == 2
    assert versions.plonk_public_inputs_count("v6.0.0") == 5
    assert versions.plonk_public_inputs_count("v6.1.0") == 5
    assert versions.plonk_public_inputs_count(5) == 2
    assert versions.plonk_public_inputs_count(6) == 5
    with pytest.raises(ValueError):
        versions.plonk_public_inputs_count(7)
    with pytest.raises(ValueError, match="'v7.0.0'"):
        versions.major("v7.0.0")


def test_proof_mode_numbering_and_tags():
    assert [(m.name, int(m), m.proof_tag) for m in ProofMode] == [
        ("CORE", 1, 0),
        ("COMPRESSED", 2, 1),
        ("PLONK", 3, 2),
        ("GROTH16", 4, 3),
    ]
    for m in ProofMode:
        assert versions.mode_from_proof_tag(m.proof_tag) is m
        assert versions.proof_tag(int(m)) == m.proof_tag
    assert (versions.PROOF_TAG_CORE, versions.PROOF_TAG_COMPRESSED,
            versions.PROOF_TAG_PLONK, versions.PROOF_TAG_GROTH16) == (0, 1, 2, 3)


@pytest.mark.parametrize("bad", [0, 5, -1, True, "unspecified", 2.0])
def test_proof_mode_parse_rejects(bad):
    with pytest.raises(ValueError):
        ProofMode.parse(bad)


def test_proof_mode_parse_accepts_names_and_numbers():
    assert ProofMode.parse("plonk") is ProofMode.PLONK
    assert ProofMode.parse(4) is ProofMode.GROTH16
    assert ProofMode.parse(ProofMode.CORE) is ProofMode.CORE


@pytest.mark.parametrize("bad", [-1, 4, True, None])
def test_mode_from_bad_tag(bad):
    with pytest.raises(ValueError):
        versions.mode_from_proof_tag(bad)
