"""A replica behind refuses backup and restore requests at once: 503, a sentence, Retry-After."""

import asyncio
import json
import time

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from services.api.deadlines import BusyError, refuse_if_late
from services.api.load_shedding import LoadShedding


class Slow:
    """An app whose POSTs wait until released: requests stay in flight."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.entered = 0

    def app(self) -> Starlette:
        async def backups(request):
            self.entered += 1
            await request.body()
            await self.release.wait()
            return JSONResponse({"ok": True}, status_code=202)

        async def listing(_request):
            return JSONResponse([])

        return Starlette(
            routes=[
                Route("/api/v1/backups", backups, methods=["POST"]),
                Route("/api/v1/restores", backups, methods=["POST"]),
                Route("/api/v1/snapshots", listing, methods=["GET"]),
            ]
        )


def client(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api")


class TestInFlight:
    async def test_the_request_past_the_limit_is_refused_at_once_and_the_others_complete(self):
        slow = Slow()
        shedding = LoadShedding(slow.app(), limit=2, max_lag=10, max_wait=10)
        async with client(shedding) as http:
            held = [
                asyncio.create_task(http.post("/api/v1/backups", json={"n": i})) for i in range(2)
            ]
            async with asyncio.timeout(5):
                while slow.entered < 2:
                    await asyncio.sleep(0.01)
            refused = await http.post("/api/v1/restores", json={"n": 3})
            listed = await http.get("/api/v1/snapshots")
            slow.release.set()
            accepted = await asyncio.gather(*held)

        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "1"
        detail = refused.json()["detail"]
        assert detail.startswith("the api is busy: 2 backup and restore requests")
        assert "API_MAX_REQUESTS_IN_FLIGHT" in detail
        assert listed.status_code == 200  # only requests that ask for work are counted
        assert [r.status_code for r in accepted] == [202, 202]
        assert (shedding.in_flight, shedding.shed) == (0, 1)
        assert shedding.refused.labels(reason="in_flight")._value.get() == 1

    async def test_a_slot_is_given_back_when_the_request_fails(self):
        async def broken(scope, receive, send):
            raise RuntimeError("boom")

        shedding = LoadShedding(broken, limit=1, max_lag=10, max_wait=10)
        for _ in range(2):
            with pytest.raises(RuntimeError):
                await shedding(
                    {"type": "http", "method": "POST", "path": "/api/v1/backups"}, None, None
                )
        assert shedding.in_flight == 0


class TestLoopLag:
    async def test_a_loop_running_late_refuses_until_it_catches_up(self):
        slow = Slow()
        slow.release.set()
        shedding = LoadShedding(slow.app(), limit=100, max_lag=0.5, max_wait=10)
        async with client(shedding) as http:
            assert (await http.post("/api/v1/backups", json={})).status_code == 202
            await asyncio.sleep(0.06)  # the probe has run once
            time.sleep(1.2)  # the loop is blocked: the probe's timer fires late
            for _ in range(3):  # the overdue probe runs and notes the lag
                await asyncio.sleep(0)
            late = await http.post("/api/v1/backups", json={})
            await asyncio.sleep(0.2)  # on time again
            caught_up = await http.post("/api/v1/backups", json={})
        await shedding.loop.stop()

        assert late.status_code == 503
        assert "ms behind (API_MAX_LOOP_LAG is 500 ms)" in json.loads(late.text)["detail"]
        assert caught_up.status_code == 202


class TestDeadline:
    """A request let in must be ready to store within max_wait, or it is refused unstored."""

    def app(self, hold: asyncio.Event, stored: list[int]) -> Starlette:
        async def backups(request):
            body = await request.json()
            await hold.wait()
            try:
                refuse_if_late()
            except BusyError as exc:
                return JSONResponse(
                    {"detail": str(exc)}, status_code=503, headers={"Retry-After": exc.retry_after}
                )
            stored.append(body["n"])
            return JSONResponse({"ok": True}, status_code=202)

        return Starlette(routes=[Route("/api/v1/backups", backups, methods=["POST"])])

    async def test_a_request_not_ready_in_time_is_refused_and_stores_nothing(self):
        hold, stored = asyncio.Event(), []
        shedding = LoadShedding(self.app(hold, stored), limit=10, max_lag=10, max_wait=0.05)
        async with client(shedding) as http:
            late = asyncio.create_task(http.post("/api/v1/backups", json={"n": 1}))
            await asyncio.sleep(0.1)  # past max_wait: the request is held meanwhile
            hold.set()
            refused = await late
            in_time = await http.post("/api/v1/backups", json={"n": 2})
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "1"
        assert "API_MAX_ACCEPT_WAIT" in refused.json()["detail"]
        assert in_time.status_code == 202
        assert stored == [2]

    async def test_work_without_a_deadline_is_never_refused_so(self):
        refuse_if_late()  # outside any request (the scheduler, the web UI): no deadline
