"""/api/v1/tokens: the bearer tokens that open the API."""

from uuid import UUID, uuid4

from fastapi import APIRouter, Response, status

from services.api.deps import Authenticated, Tokens
from services.api.errors import NotFoundError
from services.api.schemas import TokenCreate, TokenCreated, TokenPublic
from services.api.tokens import new_token, token_hash
from shared.logging import get_logger

router = APIRouter(prefix="/api/v1/tokens", tags=["tokens"], dependencies=[Authenticated])
log = get_logger(__name__)


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_token(body: TokenCreate, tokens: Tokens) -> TokenCreated:
    """Create a token. The answer is the only time it is shown; only its hash is kept."""
    token = new_token()
    created = await tokens.add(uuid4(), body.name, token_hash(token))
    log.info("token_created", token_id=str(created.id))
    return TokenCreated(**created.model_dump(), token=token)


@router.get("")
async def list_tokens(tokens: Tokens) -> list[TokenPublic]:
    """Every token, oldest first: name, when created, last used and revoked."""
    return [TokenPublic.model_validate(token.model_dump()) for token in await tokens.list()]


@router.delete("/{token_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_token(token_id: UUID, tokens: Tokens) -> Response:
    """Revoke a token: it opens nothing from now on. Revoking it again changes nothing."""
    if not await tokens.revoke(token_id):
        raise NotFoundError(f"token {token_id} does not exist")
    log.info("token_revoked", token_id=str(token_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)
