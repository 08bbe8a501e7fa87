"""Fixtures of the XDR tests: a running sandbox."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.xdr_sandbox import RunningSandbox, running_sandbox


@pytest.fixture
def sandbox() -> Iterator[RunningSandbox]:
    """Serve a sandbox with the sample incidents and no faults."""
    with running_sandbox() as running:
        yield running
