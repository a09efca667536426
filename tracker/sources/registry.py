"""Every review source the tracker knows, by name and by platform. A new platform is one
module in this package with its ``ADAPTER``, listed here."""

from __future__ import annotations

from tracker.models.enums import Platform
from tracker.sources import jd, kuaishou, top, wechat
from tracker.sources.contract import Adapter

ADAPTERS: dict[str, Adapter] = {
    a.name: a for a in (top.ADAPTER, jd.ADAPTER, kuaishou.ADAPTER, wechat.ADAPTER)
}
_BY_PLATFORM = {platform: a for a in ADAPTERS.values() for platform in a.platforms}


def for_platform(platform: Platform) -> Adapter | None:
    """The adapter that pulls a shop on ``platform``; None where there is no review API
    we could confirm (Douyin, Pinduoduo: their exports go through the file importer)."""
    return _BY_PLATFORM.get(platform)


def named(name: str) -> Adapter | None:
    return ADAPTERS.get(name)
