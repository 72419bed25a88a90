"""schemathesis against the api's OpenAPI schema, with a valid token: no request gets a 5xx.

Every operation of the running stack's schema gets a few generated requests (derandomised,
so a run is repeatable), sent only to the stack's loopback address, redirects not followed.
The whole run is bounded in examples and in time; the time budget grows with the number of
operations, so a new route adds its share instead of pushing others out of the budget.
"""

import time
from collections import Counter
from urllib.parse import urlsplit

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(420)]

EXAMPLES_PER_OPERATION = 12
SECONDS_PER_OPERATION = 4.0
"""The run's budget is this times the number of operations (about 1 s each on an idle
machine); operations not started within it are reported, and fail the test."""


@pytest.fixture
def api_schema(stack):
    assert urlsplit(stack.api_url).hostname == "127.0.0.1"
    return schemathesis.openapi.from_url(
        f"{stack.api_url}/openapi.json", timeout=10, headers=auth_headers(stack)
    )


def auth_headers(stack) -> dict[str, str]:
    assert stack.token, "the stack has no token"
    return {"Authorization": f"Bearer {stack.token}"}


def fuzz(
    operation, base_url: str, headers: dict[str, str], server_errors: list[str], statuses: Counter
) -> None:
    """A few generated requests to one operation; each 5xx is recorded, not raised."""

    @hypothesis.settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @hypothesis.given(case=operation.as_strategy())
    def exercise(case):
        response = case.call(base_url=base_url, headers=headers, allow_redirects=False, timeout=30)
        statuses[response.status_code] += 1
        if response.status_code >= 500:
            server_errors.append(
                f"{operation.label}: {response.status_code} for {case.method}"
                f" {case.formatted_path} body={case.body!r:.300} -> {response.text[:200]}"
            )

    exercise()


class TestOpenApiFuzzing:
    def test_no_operation_answers_5xx(self, stack, api_schema):
        headers = auth_headers(stack)
        started = time.monotonic()
        server_errors: list[str] = []
        unstarted: list[str] = []
        statuses: Counter[int] = Counter()
        operations = [result.ok() for result in api_schema.get_all_operations()]
        assert len(operations) >= 10, "the schema lost its operations"
        budget = SECONDS_PER_OPERATION * len(operations)

        for operation in operations:
            if time.monotonic() - started > budget:
                unstarted.append(operation.label)
                continue

            fuzz(operation, stack.api_url, headers, server_errors, statuses)

        print(
            f"schemathesis: {len(operations)} operations, {sum(statuses.values())} requests"
            f" in {time.monotonic() - started:.0f} s, statuses {dict(statuses)}"
        )
        assert sum(n for code, n in statuses.items() if code < 300) > 0, "the token was refused"
        assert not server_errors, "\n".join(server_errors)
        assert not unstarted, f"over the {budget:g} s budget before: {unstarted}"
