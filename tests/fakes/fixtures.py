"""Pytest fixtures for the fake venue; import them into conftest.py."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from .hyperliquid import FakeHyperliquid


@pytest_asyncio.fixture
async def hl_fake() -> AsyncIterator[FakeHyperliquid]:
    """A running fake seeded with the shared fixtures; its base URL is `hl_fake.url`."""
    async with FakeHyperliquid.seeded() as fake:
        yield fake
