"""The request/reply contracts: what goes on the wire, and how a bad request is refused."""

from typing import Any
from uuid import uuid4

import pytest
from pydantic import ValidationError

from services.api.asking import ask
from services.api.errors import RefusedError, UnavailableError
from services.uploader.volume_admin import answer_query as answer_volume_query
from shared.queries import (
    CatalogQueries,
    ChecksReply,
    DumperQueries,
    GetSnapshot,
    ListSnapshots,
    QueryRefused,
    RetentionCandidates,
    SnapshotReply,
    TestConnection,
    TestVolume,
    UploaderQueries,
    VolumeFreeSpace,
    refused_for,
)


class StubLink:
    """Answers every service's queue with one canned reply; records what was sent where."""

    def __init__(self, reply: dict[str, Any]) -> None:
        self.reply = reply
        self.sent: list[tuple[str, dict[str, Any], float | None]] = []

    async def _answer(self, who: str, body: dict[str, Any], wait: float | None) -> dict[str, Any]:
        self.sent.append((who, body, wait))
        return self.reply

    async def ask_catalog(self, body: dict[str, Any], *, wait: float | None = None) -> dict:
        return await self._answer("catalog", body, wait)

    async def ask_dumper(self, body: dict[str, Any], *, wait: float | None = None) -> dict:
        return await self._answer("dumper", body, wait)

    async def ask_uploader(self, body: dict[str, Any], *, wait: float | None = None) -> dict:
        return await self._answer("uploader", body, wait)


class TestRequests:
    def test_a_request_round_trips_through_its_service_union(self):
        request = ListSnapshots(status="completed", server_id=uuid4(), limit=1)
        wire = request.model_dump(mode="json")
        assert wire["op"] == "list_snapshots"
        assert CatalogQueries.validate_python(wire) == request

    def test_each_service_union_knows_only_its_own_requests(self):
        volume = TestVolume(volume="gAAAA-sealed").model_dump(mode="json")
        assert UploaderQueries.validate_python(volume) == TestVolume(volume="gAAAA-sealed")
        with pytest.raises(ValidationError):
            DumperQueries.validate_python(volume)

    def test_a_bad_request_is_refused_with_a_sentence_naming_the_field(self):
        with pytest.raises(ValidationError) as caught:
            CatalogQueries.validate_python({"op": "list_snapshots", "limit": 0})
        refused = refused_for(caught.value)
        assert refused.invalid
        assert refused.error == "invalid query: list_snapshots.limit"
        assert refused.model_dump() == {"ok": False, "error": refused.error}

    def test_retention_candidates_need_one_scope(self):
        with pytest.raises(ValidationError, match="give config_id, or server_id and database"):
            RetentionCandidates(server_id=uuid4())

    def test_an_unknown_request_is_refused(self):
        with pytest.raises(ValidationError) as caught:
            DumperQueries.validate_python({"op": "drop_everything"})
        assert refused_for(caught.value).invalid


class TestReplies:
    def test_a_reply_says_ok_on_the_wire(self):
        reply = SnapshotReply(snapshot={"id": "x"})
        assert reply.model_dump() == {"ok": True, "snapshot": {"id": "x"}}
        assert SnapshotReply.model_validate(reply.model_dump()) == reply

    def test_a_refusal_is_not_a_reply(self):
        with pytest.raises(ValidationError):
            SnapshotReply.model_validate(QueryRefused(error="not_found").model_dump())


class TestAsk:
    async def test_the_reply_type_follows_from_the_request(self):
        link = StubLink({"ok": True, "snapshot": {"id": "s1"}})
        snapshot_id = uuid4()

        reply = await ask(link, GetSnapshot(snapshot_id=snapshot_id), wait=2.0)

        assert reply == SnapshotReply(snapshot={"id": "s1"})
        assert link.sent == [
            ("catalog", {"op": "get_snapshot", "snapshot_id": str(snapshot_id)}, 2.0)
        ]

    async def test_each_request_goes_to_the_service_that_answers_it(self):
        link = StubLink({"ok": True, "checks": []})
        await ask(link, TestConnection(connection="gAAAA-sealed"))
        await ask(link, TestVolume(volume="gAAAA-sealed"))
        assert [who for who, _body, _wait in link.sent] == ["dumper", "uploader"]

    async def test_a_refusal_raises_with_the_answerers_sentence(self):
        link = StubLink({"ok": False, "error": "not_found"})
        with pytest.raises(RefusedError, match="the catalog could not answer: not_found") as e:
            await ask(link, GetSnapshot(snapshot_id=uuid4()))
        assert e.value.not_found

    async def test_an_answer_not_understood_is_unavailable(self):
        link = StubLink({"ok": True, "free": "lots"})
        with pytest.raises(UnavailableError, match="not understood") as caught:
            await ask(link, VolumeFreeSpace(volume="gAAAA-sealed"))
        assert not isinstance(caught.value, RefusedError)

    async def test_checks_validate_into_their_model(self):
        check = {"check": "write", "ok": True, "detail": "wrote it"}
        reply = await ask(StubLink({"ok": True, "checks": [check]}), TestVolume(volume="t"))
        assert reply == ChecksReply.model_validate({"checks": [check]})


class NoVolumes:
    def open_sealed(self, token: str):
        raise AssertionError(f"a malformed request opened {token}")


class TestAnswering:
    async def test_the_uploader_refuses_a_request_without_its_volume_in_words(self):
        reply = await answer_volume_query(
            NoVolumes(), TestVolume(volume="t").model_dump() | {"volume": None}
        )
        assert reply == QueryRefused(error="invalid query: test_volume.volume")

    async def test_the_uploader_refuses_a_request_it_does_not_answer(self):
        reply = await answer_volume_query(NoVolumes(), ListSnapshots().model_dump(mode="json"))
        assert isinstance(reply, QueryRefused)
        assert reply.invalid
