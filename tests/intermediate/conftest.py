from __future__ import annotations

from collections.abc import Iterator

import pytest

from autodistiller.testing import one_torch_thread


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    # The models and matrices here are tiny: see one_torch_thread.
    with one_torch_thread():
        yield
