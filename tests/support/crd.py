"""CRD validation for the tests, against the upstream CRDs in ../shared (skipped when absent).

The translation itself is product code (``ranker_values.kube.crd``, used by ``ranker-values render``);
this module only finds the CRDs by operator version.
"""

from __future__ import annotations

from typing import Any, Callable

from ranker_values.kube.crd import CustomResourceInvalid, load_crd_dir, resource_schema, strict_schema  # noqa: F401
from ranker_values.kube.crd import crd_validator_from, custom_resource_errors_from
from support import CRD_DIR, require_shared


def load_crds(operator_version: str) -> dict[str, dict[str, Any]]:
    """``{kind: CRD}`` for one operator version from ../shared/crds (skips when absent)."""
    return load_crd_dir(require_shared(CRD_DIR / operator_version))


def crd_validator(kind: str, operator_version: str, api_version: str = "v1beta1") -> Callable[[dict], None]:
    """A function that validates one object of ``kind`` (spec AND status) or raises with all errors."""
    return crd_validator_from(require_shared(CRD_DIR / operator_version), kind, api_version)


def custom_resource_errors(obj: dict[str, Any], operator_version: str) -> list[str]:
    return custom_resource_errors_from(obj, require_shared(CRD_DIR / operator_version))


def validate_custom_resource(obj: dict[str, Any], operator_version: str) -> None:
    """Raise :class:`CustomResourceInvalid` unless ``obj`` validates against its CRD."""
    errors = custom_resource_errors(obj, operator_version)
    if errors:
        name = (obj.get("metadata") or {}).get("name", "?")
        raise CustomResourceInvalid(f"{obj.get('kind')}/{name} (operator {operator_version} CRD)", errors)
