"""One embedding model for the retrieval tests: loading it takes seconds."""

from __future__ import annotations

import pytest

from appliance.retrieval.embedder import Embedder


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """Return the packaged all-MiniLM-L6-v2 model, loaded once."""
    return Embedder()
