"""The render matrix: {dev, prod} × {5 generated files × 2 shared configs} × {redis on, off}.

Plus ``examples/config.yml`` generated with ``--env`` for each env (object-store paths, what
users run), and the hand-written ``tests/data/generated-sample/update.yaml`` (H2's), rendered
whatever state the generator is in.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ranker_values.values.files import dig, read_values_file
from support import ENV_VALUES, REPO, SHARED_CONFIGS
from support.generated import HANDWRITTEN_SAMPLE, STEPS, generated_example_files, generated_files
from support.render import Manifest, render, values_for

HANDWRITTEN = "handwritten"
EXAMPLE = "example"  # examples/config.yml, generated with --env like users do


@dataclass(frozen=True)
class Case:
    env: str  # dev | prod
    config: str  # a SHARED_CONFIGS key (generated without --env), EXAMPLE or HANDWRITTEN
    step: str  # lifecycle step = generated file
    redis: bool  # the bundled redis subchart

    @property
    def id(self) -> str:
        return f"{self.env}-{self.config}-{self.step}-redis_{'on' if self.redis else 'off'}"

    def generated_file(self) -> Path:
        if self.config == HANDWRITTEN:
            if not HANDWRITTEN_SAMPLE.is_file():
                pytest.fail(f"{HANDWRITTEN_SAMPLE.relative_to(REPO)} is missing (H2 owns it)")
            return HANDWRITTEN_SAMPLE
        if self.config == EXAMPLE:
            return generated_example_files(self.env)[self.step]
        return generated_files(self.config)[self.step]

    def values_files(self) -> list[Path]:
        generated = self.generated_file()  # first: skips while the generator is not written
        env_file = ENV_VALUES[self.env]
        if not env_file.is_file():
            pytest.fail(f"{env_file.relative_to(REPO)} is missing (H2 owns it)")
        return [env_file, generated]

    @property
    def overrides(self) -> dict[str, Any]:
        """Switch the bundled Redis, adding the password Secret the chart then requires when the
        env file (written for the other setting) does not name one."""
        overrides: dict[str, Any] = {"redis": {"enabled": self.redis}}
        env = _env_values(self.env)
        if self.redis and not (dig(env, "redis.auth.password") or dig(env, "redis.auth.existingSecret")):
            overrides["redis"]["auth"] = {"existingSecret": "ranker-redis-admin"}
        if not self.redis and not dig(env, "externalRedis.auth.existingSecret"):
            overrides["externalRedis"] = {"auth": {"existingSecret": "ranker-redis"}}
        return overrides

    def values(self) -> dict[str, Any]:
        """The merged values Helm receives for this case."""
        return values_for(self.values_files(), self.overrides)

    def objects(self, release: str = "ranker") -> list[Manifest]:
        return render(self.values_files(), self.overrides, release=release)


def _env_values(env: str) -> dict[str, Any]:
    return read_values_file(ENV_VALUES[env]) if ENV_VALUES[env].is_file() else {}


#: Shared configs with ``memory`` state (Metarank's sample-config.yml): their api and update steps
#: cannot work in any chart deployment (docs/engine-0.4.1.md E14), and the chart refuses them.
MEMORY_STATE_CONFIGS = ("sample",)
MEMORY_REFUSED_STEPS = ("api", "update")

_ALL: list[Case] = [
    Case(env, config, step, redis)
    for env in ENV_VALUES
    for config in (*SHARED_CONFIGS, EXAMPLE)
    for step in STEPS
    for redis in (False, True)
]
CASES: list[Case] = [
    c for c in _ALL if not (c.config in MEMORY_STATE_CONFIGS and c.step in MEMORY_REFUSED_STEPS)
] + [Case(env, HANDWRITTEN, "update", redis) for env in ENV_VALUES for redis in (False, True)]
#: The renders the chart must refuse (memory state with the api or update stage on).
REFUSED_CASES: list[Case] = [c for c in _ALL if c not in CASES]

# One case per env × redis for the slower whole-release checks (lint, policy, stability).
UPDATE_CASES: list[Case] = [c for c in CASES if c.step == "update" and c.config == "ranklens"]


def case_params(cases: list[Case]) -> list[Any]:
    return [pytest.param(c, id=c.id) for c in cases]
