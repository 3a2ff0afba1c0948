"""HostThrottle under many concurrent tasks: limits, spacing of starts, penalties, bot-wall backoff."""

from __future__ import annotations

import asyncio
import random
import time
from collections import defaultdict

from scraper.fetch.throttle import HostThrottle
from tests.fetch.conftest import gaps, quick_settings


def _hammer(throttle: HostThrottle, urls: list[str], hold: float) -> tuple[dict[str, list[float]], dict[str, int], int]:
    """Run one task per URL through the throttle; return start times per host, max in flight per host and overall."""
    starts: dict[str, list[float]] = defaultdict(list)
    in_flight: dict[str, int] = defaultdict(int)
    peak: dict[str, int] = defaultdict(int)
    total = {"now": 0, "peak": 0}

    async def one(url: str) -> None:
        host = url.split("/")[2]
        async with throttle.slot(url):
            starts[host].append(time.monotonic())
            in_flight[host] += 1
            total["now"] += 1
            peak[host] = max(peak[host], in_flight[host])
            total["peak"] = max(total["peak"], total["now"])
            await asyncio.sleep(hold)
            in_flight[host] -= 1
            total["now"] -= 1

    async def main() -> None:
        await asyncio.gather(*(one(url) for url in urls))

    asyncio.run(main())
    return starts, peak, total["peak"]


def test_per_host_and_global_limits_hold_for_many_tasks() -> None:
    settings = quick_settings(CONCURRENT_REQUESTS=3, CONCURRENT_REQUESTS_PER_DOMAIN=2)
    urls = [f"http://h{i % 4}.test/{i}" for i in range(40)]
    random.Random(3).shuffle(urls)
    starts, peak, overall = _hammer(HostThrottle(settings), urls, hold=0.01)
    assert sum(len(times) for times in starts.values()) == 40
    assert max(peak.values()) <= 2
    assert overall <= 3
    assert overall >= 2  # the limit is reached, not just respected by running one at a time


def test_starts_on_one_host_are_spaced_by_download_delay() -> None:
    settings = quick_settings(DOWNLOAD_DELAY=0.1, CONCURRENT_REQUESTS_PER_DOMAIN=4)
    starts, _, _ = _hammer(HostThrottle(settings), [f"http://one.test/{i}" for i in range(6)], hold=0.0)
    assert min(gaps(starts["one.test"])) >= 0.1 - 1e-6  # same clock as the throttle: no slack needed


def test_randomized_delay_stays_within_half_to_one_and_a_half() -> None:
    settings = quick_settings(DOWNLOAD_DELAY=0.1, RANDOMIZE_DOWNLOAD_DELAY=True)
    starts, _, _ = _hammer(HostThrottle(settings, rng=random.Random(5)), [f"http://one.test/{i}" for i in range(6)], hold=0.0)
    assert min(gaps(starts["one.test"])) >= 0.05 - 1e-6


def test_crawl_delay_raises_the_gap_and_counts_from_the_last_start() -> None:
    throttle = HostThrottle(quick_settings(DOWNLOAD_DELAY=0.0))
    times: list[float] = []

    async def main() -> None:
        async with throttle.slot("http://slow.test/robots.txt"):
            times.append(time.monotonic())
        throttle.set_crawl_delay("http://slow.test/", 0.2)  # learnt from the robots.txt just fetched
        for i in range(2):
            async with throttle.slot(f"http://slow.test/{i}"):
                times.append(time.monotonic())

    asyncio.run(main())
    assert min(gaps(times)) >= 0.2 - 1e-6
    assert throttle.delay("slow.test:80") == 0.2


def test_penalize_holds_back_every_request_to_the_host_only() -> None:
    throttle = HostThrottle(quick_settings())
    seen: dict[str, float] = {}

    async def main() -> None:
        start = time.monotonic()
        throttle.penalize("http://busy.test/x", 0.3)
        async def go(url: str) -> None:
            async with throttle.slot(url):
                seen[url] = time.monotonic() - start
        await asyncio.gather(go("http://busy.test/other"), go("http://free.test/"))

    asyncio.run(main())
    assert seen["http://busy.test/other"] >= 0.3 - 1e-6
    assert seen["http://free.test/"] < seen["http://busy.test/other"]  # the free host did not queue behind the busy one


def test_bot_wall_backoff_doubles_to_the_cap_and_resets() -> None:
    throttle = HostThrottle(quick_settings(BOTWALL_BACKOFF_BASE=0.5, BOTWALL_BACKOFF_MAX=3.0))
    assert [throttle.bot_wall("walled.test:80") for _ in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    throttle.clear_bot_wall("http://walled.test/")
    assert throttle.bot_wall("walled.test:80") == 0.5


def test_bot_wall_delays_the_next_start() -> None:
    throttle = HostThrottle(quick_settings(BOTWALL_BACKOFF_BASE=0.25))
    times: list[float] = []

    async def main() -> None:
        async with throttle.slot("http://walled.test/a"):
            times.append(time.monotonic())
        throttle.bot_wall("http://walled.test/a")
        async with throttle.slot("http://walled.test/b"):
            times.append(time.monotonic())

    asyncio.run(main())
    assert times[1] - times[0] >= 0.25 - 1e-6


def test_a_cancelled_waiter_gives_its_slot_back() -> None:
    throttle = HostThrottle(quick_settings(CONCURRENT_REQUESTS=1))

    async def main() -> bool:
        throttle.penalize("http://a.test/", 10.0)
        waiter = asyncio.create_task(_enter(throttle, "http://a.test/x"))
        await asyncio.sleep(0.05)
        waiter.cancel()
        await asyncio.gather(waiter, return_exceptions=True)
        await asyncio.wait_for(_enter(throttle, "http://b.test/y"), timeout=5)
        return throttle.in_flight("a.test:80") == 0

    assert asyncio.run(main())


async def _enter(throttle: HostThrottle, url: str) -> None:
    async with throttle.slot(url):
        pass


def test_a_held_host_slot_spaces_its_requests_and_keeps_others_out() -> None:
    throttle = HostThrottle(quick_settings(DOWNLOAD_DELAY=0.1, CONCURRENT_REQUESTS_PER_DOMAIN=1))
    events: list[tuple[str, float]] = []

    async def retrying() -> None:
        async with throttle.host_slot("http://one.test/a") as slot:
            for _ in range(3):
                async with slot.request():
                    events.append(("a", time.monotonic()))

    async def other() -> None:
        await asyncio.sleep(0)  # queue up while the first task holds the slot
        async with throttle.slot("http://one.test/b"):
            events.append(("b", time.monotonic()))

    async def main() -> None:
        await asyncio.gather(retrying(), other())

    asyncio.run(main())
    assert [name for name, _ in events] == ["a", "a", "a", "b"]
    assert min(gaps([at for _, at in events])) >= 0.1 - 1e-6
