"""twistd dropin: `twistd -n hierophant -c etc/hierophant.toml`."""
from __future__ import annotations

import sys

from twisted.application.service import IServiceMaker
from twisted.plugin import IPlugin
from twisted.python import usage
from zope.interface import implementer


class Options(usage.Options):
    synopsis = "[-c CONFIG]"
    optParameters = [["config", "c", None, "path of hierophant.toml (environment HIEROPHANT_* overrides it)"]]


@implementer(IServiceMaker, IPlugin)
class HierophantServiceMaker:
    tapname = "hierophant"
    description = "SP1 prover network coordinator (sp1-sdk compatible gRPC + artifacts + workers)"
    options = Options

    def makeService(self, options):
        from hierophant.config import load_config
        from hierophant.errors import StoreUnavailable
        from hierophant.service import make_service
        from network_lib.config import ConfigError
        try:
            return make_service(load_config(options["config"]))
        except ConfigError as e:
            sys.stderr.write(f"hierophant: configuration error: {e}\n")
            raise SystemExit(2) from None
        except StoreUnavailable as e:
            # Start-up with the database or the bucket unreachable: exit, let the supervisor retry.
            sys.stderr.write(f"hierophant: cannot start: {e}\n")
            raise SystemExit(3) from None


serviceMaker = HierophantServiceMaker()
