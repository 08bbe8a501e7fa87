"""Stand-ins for the XSOAR runtime modules an automation script imports."""

from __future__ import annotations

import sys
import types
from typing import Any


class XsoarRun:
    """What one automation run saw and returned."""

    def __init__(self, args: dict[str, Any], incident: dict[str, Any]) -> None:
        self.args = args
        self.incident = incident
        self.results: list[Any] = []
        self.errors: list[str] = []


def install(run: XsoarRun) -> None:
    """Put ``demistomock`` and ``CommonServerPython`` modules for ``run`` in place."""
    demisto = types.ModuleType("demistomock")
    demisto.args = lambda: run.args  # type: ignore[attr-defined]
    demisto.incident = lambda: run.incident  # type: ignore[attr-defined]

    common = types.ModuleType("CommonServerPython")

    class CommandResults:
        def __init__(self, **kwargs: Any) -> None:
            self.__dict__.update(kwargs)

    common.CommandResults = CommandResults  # type: ignore[attr-defined]
    common.argToBoolean = lambda v: str(v).lower() == "true"  # type: ignore[attr-defined]
    common.return_results = run.results.append  # type: ignore[attr-defined]
    common.return_error = run.errors.append  # type: ignore[attr-defined]
    sys.modules["demistomock"] = demisto
    sys.modules["CommonServerPython"] = common


def uninstall() -> None:
    """Remove the stand-ins."""
    sys.modules.pop("demistomock", None)
    sys.modules.pop("CommonServerPython", None)
