"""What every check may read: the deployment, the merged values, the options, and lazily created
clients shared between checks (one S3 client, one Redis connection, one cluster handle).

A client is created once, by whichever check asks first, under a lock; a failure to create it is
remembered too, so five Redis checks against a dead server report the same reason instead of
each waiting for its own connect timeout.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ranker_values.values.model import STEPS, Deployment

T = TypeVar("T")

#: ``--done`` values: the last lifecycle step that has finished ("none": nothing ran yet).
DONE_CHOICES = ("none", *STEPS)


@dataclass(frozen=True)
class CheckOptions:
    values: Mapping[str, Any] = field(default_factory=dict)  # merged --values files
    done: str = "none"
    timeout: float = 10.0  # per check
    redis_url: str | None = None  # overrides inference.state host/port
    redis_password_env: str = "REDIS_PASSWORD"
    events_sample: int = 1000  # first N events of the bootstrap source
    events_max_bytes: int = 64 * 1024 * 1024  # decompressed bytes read for the sample
    model_max_bytes: int = 512 * 1024 * 1024
    kube_context: str | None = None
    namespace: str = "default"
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    cluster: Any = None  # a ranker_values.kube.cluster.Cluster; None: KubernetesCluster(kube_context)


class _Lazy:
    """A value built once on first use; the exception of a failed build is re-raised to every caller."""

    def __init__(self, build: Callable[[], Any]):
        self._build = build
        self._lock = threading.Lock()
        self._done = False
        self._value: Any = None
        self._error: BaseException | None = None

    def get(self) -> Any:
        with self._lock:
            if not self._done:
                try:
                    self._value = self._build()
                except BaseException as exc:  # noqa: BLE001 - remembered and re-raised below
                    self._error = exc
                self._done = True
        if self._error is not None:
            raise self._error
        return self._value


class CheckContext:
    def __init__(self, deployment: Deployment, options: CheckOptions):
        self.deployment = deployment
        self.options = options
        self._lazy: dict[str, _Lazy] = {}
        self._lock = threading.Lock()

    @property
    def values(self) -> Mapping[str, Any]:
        return self.options.values

    def done(self, step: str) -> bool:
        """True when ``step`` has finished according to ``--done``."""
        if self.options.done == "none":
            return False
        return STEPS.index(self.options.done) >= STEPS.index(step)  # type: ignore[arg-type]

    def shared(self, key: str, build: Callable[[], T]) -> T:
        """The value ``build()`` returns, built once for all checks."""
        with self._lock:
            lazy = self._lazy.setdefault(key, _Lazy(build))
        return lazy.get()
