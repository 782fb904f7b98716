"""Fixtures shared by the test files.

Test tiers: every test runs by default (``python -m pytest``, as ``.ci/run`` does); the
``slow`` marker (pytest.ini) tags the long round trips and end-to-end runs, so that
``python -m pytest -m "not slow"`` gives a quick check while editing.  Tests marked
``shared_data`` read the data sets under ``../shared/data`` and skip when they are absent.
Synthetic signals used by several files live in ``tests/_synth.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

#: The data folder beside the checkout (``<repo>/../shared/data``).
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture
def shared_data():
    """``shared_data("eik_samples/plain")``: that path under ``../shared/data``; the test is
    skipped when it does not exist."""

    def locate(relative: str) -> Path:
        path = SHARED_DATA / relative
        if not path.exists():
            pytest.skip(f"../shared/data/{relative} is absent")
        return path

    return locate
