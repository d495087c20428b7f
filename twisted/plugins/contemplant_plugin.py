"""twistd dropin: `twistd -n contemplant -c etc/contemplant.toml`.

Exit statuses (contemplant/exits.py): 2 bad configuration, 3 the hierophant refused the
worker token, 4 protocol version mismatch (4002) or dropped (4004).
"""
from __future__ import annotations

import sys

from twisted.application.service import IServiceMaker
from twisted.plugin import IPlugin
from twisted.python import usage
from zope.interface import implementer


class Options(usage.Options):
    synopsis = "[-c CONFIG]"
    optParameters = [["config", "c", None, "path of contemplant.toml (environment CONTEMPLANT_* overrides it)"]]


@implementer(IServiceMaker, IPlugin)
class ContemplantServiceMaker:
    tapname = "contemplant"
    description = "SP1 prover network worker: proves jobs from a hierophant on local provers"
    options = Options

    def makeService(self, options):
        from contemplant import exits
        from contemplant.config import load_config
        from contemplant.service import make_service
        from network_lib.config import ConfigError
        try:
            svc = make_service(load_config(options["config"]))
        except ConfigError as e:
            sys.stderr.write(f"contemplant: configuration error: {e}\n")
            raise SystemExit(exits.EXIT_CONFIG) from None
        exits.install_twistd_hook()
        return svc


serviceMaker = ContemplantServiceMaker()
