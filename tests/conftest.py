"""Session-wide checks: no process started by the run outlives it (tests/leftovers.py)."""
from __future__ import annotations

from tests import leftovers

RUN_ID = leftovers.mark_run()
LEFTOVER_GRACE_SECS = 15.0


def pytest_sessionfinish(session, exitstatus) -> None:
    left = leftovers.wait_gone(RUN_ID, LEFTOVER_GRACE_SECS)
    if not left:
        return
    leftovers.kill(left)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    lines = [f"{len(left)} process(es) started by this test run were still running after it "
             f"(killed now):"] + [f"  pid {pid}: {cmd}" for pid, cmd in left]
    if reporter is not None:
        reporter.write_line("\n".join(lines), red=True)
    session.exitstatus = 1
