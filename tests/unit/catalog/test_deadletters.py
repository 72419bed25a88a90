"""The sentence a dead-lettered message leaves on its snapshot."""

from services.catalog.deadletters import dead_letter_reason


class TestDeadLetterReason:
    def test_names_the_deliveries_the_service_and_the_event_type(self):
        headers = {
            "x-death": [
                {
                    "queue": "ns1.dumper",
                    "count": 1,
                    "reason": "delivery_limit",
                    "routing-keys": ["backup.requested"],
                }
            ]
        }
        reason = dead_letter_reason(headers, namespace="ns1", delivery_limit=5, message_type=None)
        assert reason == "gave up after 6 deliveries: dumper could not handle BackupRequested"

    def test_a_rejected_message_says_so(self):
        headers = {
            "x-death": [
                {"queue": "ns1.uploader", "reason": "rejected", "routing-keys": ["chunk.staged"]}
            ]
        }
        reason = dead_letter_reason(headers, namespace="ns1", delivery_limit=5, message_type=None)
        assert reason == "gave up (rejected): uploader could not handle ChunkStaged"

    def test_falls_back_to_the_message_type_without_x_death(self):
        reason = dead_letter_reason(
            {}, namespace="ns1", delivery_limit=3, message_type="DumpFinished"
        )
        assert reason == "gave up after 4 deliveries: a service could not handle DumpFinished"
