"""No route's dependency is a plain `def`: FastAPI would run each in a worker thread, a thread
hop per dependency per request that costs more than the request under a burst."""

import inspect
from collections.abc import Iterator

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from services.api.app import build_app
from services.api.settings import ApiSettings


def dependencies(dependant: Dependant) -> Iterator[Dependant]:
    for sub in dependant.dependencies:
        yield sub
        yield from dependencies(sub)


def api_routes(routes: list[object]) -> Iterator[APIRoute]:
    """Every APIRoute, also inside the routers FastAPI includes by reference."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        inner = getattr(route, "original_router", None) or getattr(route, "routes", None)
        if inner is not None:
            yield from api_routes(getattr(inner, "routes", inner))


def runs_in_a_thread(call: object) -> bool:
    if inspect.isclass(call):
        return False  # a model or a class built per request: nothing is called in a thread
    function = call if inspect.isfunction(call) else getattr(call, "__call__", None)  # noqa: B004
    return not (inspect.iscoroutinefunction(function) or inspect.isasyncgenfunction(function))


class TestDependencies:
    def test_every_dependency_of_every_route_runs_on_the_event_loop(self) -> None:
        app = build_app(ApiSettings())
        routes = list(api_routes(list(app.routes)))
        assert len(routes) > 50
        threaded = sorted(
            {
                f"{route.path}: {getattr(dep.call, '__name__', dep.call)}"
                for route in routes
                for dep in dependencies(route.dependant)
                if dep.call is not None and runs_in_a_thread(dep.call)
            }
        )
        assert threaded == []

    def test_the_check_sees_a_plain_def(self) -> None:
        def plain() -> int:
            return 1

        async def on_loop() -> int:
            return 1

        assert runs_in_a_thread(plain)
        assert not runs_in_a_thread(on_loop)
