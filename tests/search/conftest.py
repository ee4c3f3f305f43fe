from collections.abc import Iterator

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _no_cached_live_answers() -> Iterator[None]:
    # Test databases restart their ids at 1: a previous run's answers for "user 3" must not
    # answer this run's user 3.
    cache.clear()
    yield
