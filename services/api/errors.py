"""The api's exceptions; each carries a sentence a person can read."""

from shared.queries import QueryRefused


class ApiError(Exception):
    """Base of every api error."""


class NotFoundError(ApiError):
    """The thing asked for does not exist (HTTP 404)."""


class ConflictError(ApiError):
    """The request contradicts current state (HTTP 409)."""


class UnavailableError(ApiError):
    """A service the api depends on did not answer in time (HTTP 503)."""


class InvalidRequestError(ApiError):
    """The request is well-formed but cannot be carried out as asked (HTTP 422)."""


class UnauthenticatedError(ApiError):
    """No bearer token, or one that is unknown or revoked (HTTP 401, without saying which)."""

    def __init__(self) -> None:
        super().__init__("not authenticated")


class RefusedError(UnavailableError):
    """A service the api asked refused the request, with its sentence (HTTP 503 unless the
    asker makes more of it: `not_found`, `invalid`)."""

    def __init__(self, who: str, refusal: QueryRefused) -> None:
        super().__init__(f"the {who} could not answer: {refusal.error}")
        self.who = who
        self.reason = refusal.error
        self.not_found = refusal.not_found
        self.invalid = refusal.invalid
