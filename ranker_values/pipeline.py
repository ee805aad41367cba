"""load → validate → derive: the one entry point the commands (and other modules) call.

``validate_config`` never raises for a bad config: it returns every problem as a diagnostic.
It raises :class:`UsageError` only when a file cannot be read at all (the config, the env file,
the bundled schema). ``load_deployment`` is the strict variant: a Deployment or InvalidInput.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ranker_values.errors import Diagnostic, InvalidInput, UsageError
from ranker_values.values.model import Deployment, EnvProfile


SHAPE_CODES = ("RV002", "RV003")  # root not a mapping; a Metarank ≥0.5 config

# charts/ranker/values.yaml defaults, for keys an env file leaves out
CHART_MAX_REPLICAS = 5  # stages.api.autoscaling.maxReplicas
CHART_SHARED_MOUNT = "/data"  # sharedVolume.mountPath


@dataclass
class ValidationResult:
    file: str
    diagnostics: list[Diagnostic] = field(default_factory=list)
    deployment: Deployment | None = None

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors


def validate_config(path: Path, env: str | None = None, env_file: Path | None = None) -> ValidationResult:
    from ranker_values.values.derive import build_deployment
    from ranker_values.config.embed import embedded_config
    from ranker_values.config.loader import read_config
    from ranker_values.config.rules import check_engine, check_environment, check_semantics
    from ranker_values.config.schema import check_structure

    profile = load_env_profile(env, env_file)
    display = str(path)
    doc = read_config(Path(path), display)
    result = ValidationResult(file=display, diagnostics=list(doc.diagnostics))
    if doc.data is None:
        return _finish(result)
    structure = check_structure(doc)
    result.diagnostics.extend(structure)
    if any(d.code in SHAPE_CODES for d in structure):
        return _finish(result)  # not a 0.4 config at all: one pointed message is enough
    result.diagnostics.extend(check_semantics(doc))
    if profile is not None:
        result.diagnostics.extend(check_environment(doc, profile))
    result.diagnostics.extend(check_engine(doc, profile))
    if result.ok:
        embedded, problems = embedded_config(doc)  # what the ConfigMap holds: no comments
        result.diagnostics.extend(problems)
        if embedded is not None:
            result.deployment = build_deployment(doc, display, profile, config_text=embedded)
    return _finish(result)


def load_deployment(
    path: Path, env: str | None = None, env_file: Path | None = None, strict: bool = False
) -> Deployment:
    """The Deployment of a valid config; InvalidInput carrying the diagnostics otherwise.
    With ``strict``, warnings count as errors."""
    result = validate_config(path, env, env_file)
    if result.deployment is None or (strict and result.warnings):
        problems = len(result.errors) + (len(result.warnings) if strict else 0)
        raise InvalidInput(f"{result.file}: {problems} problem(s); nothing generated", result.diagnostics)
    return result.deployment


def _finish(result: ValidationResult) -> ValidationResult:
    from ranker_values.config.report import ranked

    result.diagnostics = ranked(result.diagnostics)
    return result


# -- the environment profile ------------------------------------------------------------------


def load_env_profile(env: str | None, env_file: Path | None) -> EnvProfile | None:
    """``--env NAME`` reads ``values/NAME.yaml`` (relative to the current directory);
    ``--env-file PATH`` names the file explicitly (the env name defaults to its stem)."""
    from ranker_values.values.files import read_values_file

    if env is None and env_file is None:
        return None
    if env is not None and (not env or "/" in env or env.startswith(".")):
        raise UsageError(f"--env {env!r}: an environment name, like dev or prod")
    if env_file is None:
        env_file = Path("values") / f"{env}.yaml"
        if not env_file.is_file():
            raise UsageError(
                f"--env {env}: {env_file} not found (relative to {Path.cwd()}); "
                "run from the repository root or pass --env-file PATH"
            )
    name = env if env is not None else Path(env_file).stem
    try:
        values = read_values_file(Path(env_file))
    except InvalidInput as exc:
        raise UsageError(f"--env-file: {exc.message}") from None
    return profile_from_values(name, values, str(env_file))


def profile_from_values(name: str, values: dict[str, Any], source_file: str | None = None) -> EnvProfile:
    from ranker_values.values.files import dig

    where = source_file or "env values"
    replicas = _int_at(values, "stages.api.replicaCount", 1, where)
    if _bool_at(values, "stages.api.autoscaling.enabled", False, where):
        # the chart's HPA may scale up to maxReplicas
        replicas = max(replicas, _int_at(values, "stages.api.autoscaling.maxReplicas", CHART_MAX_REPLICAS, where))
    shared_on = _bool_at(values, "sharedVolume.enabled", False, where)
    claim = dig(values, "sharedVolume.existingClaim") if shared_on else None
    mount = dig(values, "sharedVolume.mountPath", CHART_SHARED_MOUNT) if shared_on else None
    return EnvProfile(
        name=name,
        api_max_replicas=replicas,
        update_enabled=_bool_at(values, "stages.update.enabled", True, where),
        shared_volume_claim=claim if isinstance(claim, str) and claim else None,
        shared_volume_mount_path=mount if isinstance(mount, str) and mount else None,
        source_file=source_file,
        s3_auth_mode=_str_at(values, "s3.auth.mode", "secret", where),
        update_parallelism=_int_at(values, "stages.update.parallelism", 0, where) or None,
    )


def _str_at(values: dict[str, Any], dotted: str, default: str, where: str) -> str:
    from ranker_values.values.files import dig

    value = dig(values, dotted, default)
    if value is None:
        return default
    if not isinstance(value, str):
        raise UsageError(f"{where}: {dotted} must be a string, got {value!r}")
    return value


def _int_at(values: dict[str, Any], dotted: str, default: int, where: str) -> int:
    from ranker_values.values.files import dig

    value = dig(values, dotted, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise UsageError(f"{where}: {dotted} must be an integer, got {value!r}")
    return value


def _bool_at(values: dict[str, Any], dotted: str, default: bool, where: str) -> bool:
    from ranker_values.values.files import dig

    value = dig(values, dotted, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise UsageError(f"{where}: {dotted} must be true or false, got {value!r}")
    return value
