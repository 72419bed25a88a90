"""Keep the api's environment away from its hooks' reach through /proc.

A hook runs as the api's OS user unless its definition names another. A process of the same
user may read `/proc/<api pid>/environ` (and `mem`), where the api's keys are, unless the api
is not "dumpable": then those files belong to root and ptrace is refused, for every process
without CAP_SYS_PTRACE (docs/notifications.md says what remains: root, and files).
"""

import ctypes
import ctypes.util
import sys

from shared.logging import get_logger

log = get_logger(__name__)
PR_SET_DUMPABLE = 4
PR_GET_DUMPABLE = 3


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)


def make_undumpable() -> bool:
    """prctl(PR_SET_DUMPABLE, 0) on this process; False where Linux does not offer it."""
    if not sys.platform.startswith("linux"):
        log.warning("undumpable_unsupported", platform=sys.platform)
        return False
    if _libc().prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
        log.warning("undumpable_refused", errno=ctypes.get_errno())
        return False
    return True


def is_dumpable() -> bool:
    """Whether this process may be read through /proc by its own user (Linux)."""
    return bool(_libc().prctl(PR_GET_DUMPABLE, 0, 0, 0, 0))
