"""Fixtures the service tests share."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.aliyun_server import FakeAliyun
from tests.platform_servers import serve


@pytest.fixture
def aliyun() -> Iterator[FakeAliyun]:
    """A local Aliyun (SMS, privacy numbers) that checks each request's signature."""
    with serve(FakeAliyun()) as fake:
        yield fake
