"""/api/v1/hooks: the hooks the operator defined, for configurations to pick by name."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from services.api.deps import Authenticated
from services.api.notifications.hook_catalog import HookCatalog, HookPublic

router = APIRouter(prefix="/api/v1/hooks", tags=["notifications"], dependencies=[Authenticated])


def get_hooks(request: Request) -> HookCatalog:
    found: HookCatalog = request.app.state.hooks
    return found


Hooks = Annotated[HookCatalog, Depends(get_hooks)]
"""The routes' dependency: the operator's hooks, read from API_HOOKS_FILE at start-up."""


@router.get("")
async def list_hooks(hooks: Hooks) -> list[HookPublic]:
    """The operator's hooks by name: what each is for, its timeout and the events it serves.

    What a hook runs stays on the host: hooks are defined in `API_HOOKS_FILE`, and a backup
    configuration only names one (`post_backup_hook`, `post_restore_hook`).
    """
    return hooks.public()
