"""The api's background work: the outbox relay, the scheduler, the retention pass, the
notification dispatcher, the overdue check and the broker's reconnection.

They run inside each api replica (every one of them is safe to run on several replicas at
once) and share the api's pool and broker link; `assembly.build_workers` wires them and the
lifespan starts and stops them as one `Workers` group.
"""

from services.api.workers._group import LoopWorker, Worker, Workers

__all__ = ["LoopWorker", "Worker", "Workers"]
