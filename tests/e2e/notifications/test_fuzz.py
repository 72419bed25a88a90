"""schemathesis on the notification and overdue routes only: no request gets a 5xx.

The whole-API run (tests/e2e/test_schemathesis.py) has a time budget that a loaded machine
may spend before reaching these operations; this run covers them for certain.
"""

from collections import Counter
from urllib.parse import urlsplit

import pytest
import schemathesis

from tests.e2e.test_schemathesis import auth_headers, fuzz
from tests.support.stack import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(300)]
PREFIXES = ("/api/v1/notification-channels", "/api/v1/overdue")


class TestNotificationRoutesFuzzing:
    def test_no_notification_operation_answers_5xx(self, stack: Stack) -> None:
        assert urlsplit(stack.api_url).hostname == "127.0.0.1"
        schema = schemathesis.openapi.from_url(
            f"{stack.api_url}/openapi.json",
            timeout=10,
            headers={"Authorization": f"Bearer {stack.token}"},
        )
        operations = [
            result.ok()
            for result in schema.get_all_operations()
            if result.ok().path.startswith(PREFIXES)
        ]
        assert len(operations) == 8, [op.label for op in operations]
        server_errors: list[str] = []
        statuses: Counter[int] = Counter()

        for operation in operations:
            fuzz(operation, stack.api_url, auth_headers(stack), server_errors, statuses)

        assert statuses[201] > 0, f"no channel was ever created: {dict(statuses)}"
        assert not server_errors, "\n".join(server_errors)
