"""SP1 Groth16 and Plonk proof verification in Python (issue 10).

Public API: :func:`verify_onchain`, :func:`verify_proof_file` and the :class:`Report` they
return. See :mod:`network_lib.verifier.api` for the forms each takes.
"""

from network_lib.verifier.api import verify_onchain, verify_proof_file
from network_lib.verifier.report import Report

__all__ = ["Report", "verify_onchain", "verify_proof_file"]
