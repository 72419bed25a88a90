"""What every command shares: where the API is, and one client opened on first use."""

from dataclasses import dataclass, field

import typer

from services.cli.client import Client


@dataclass
class Session:
    url: str
    token: str | None
    _client: Client | None = field(default=None, repr=False)

    @property
    def client(self) -> Client:
        if self._client is None:
            self._client = Client(self.url, self.token)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


def client_of(ctx: typer.Context) -> Client:
    """The API client of the running command."""
    session = ctx.find_object(Session)
    if session is None:  # pragma: no cover - the root callback always sets it
        raise RuntimeError("the command ran without the root callback")
    return session.client
