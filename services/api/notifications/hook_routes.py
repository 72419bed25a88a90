"""/api/v1/hooks: the hooks the operator defined, for configurations to pick by name."""

from fastapi import APIRouter

from services.api.deps import Authenticated, Hooks
from services.api.notifications.hook_catalog import HookPublic

router = APIRouter(prefix="/api/v1/hooks", tags=["notifications"], dependencies=[Authenticated])


@router.get("")
async def list_hooks(hooks: Hooks) -> list[HookPublic]:
    """The operator's hooks by name: what each is for, its timeout and the events it serves.

    What a hook runs stays on the host: hooks are defined in `API_HOOKS_FILE`, and a backup
    configuration only names one (`post_backup_hook`, `post_restore_hook`).
    """
    return hooks.public()
