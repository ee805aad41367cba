"""Validate custom resources against the Flink operator's CRDs, the way the API server would.

A CRD's ``openAPIV3Schema`` is not a JSON Schema as-is: ``jsonschema`` would ignore
``nullable`` (rejecting null), accept anything for a bare ``x-kubernetes-int-or-string`` and let
unknown fields through, where the API server prunes or (strict field validation) rejects them.
``strict_schema`` translates it first:

- ``x-kubernetes-int-or-string`` → ``type: [integer, string]``
- ``nullable: true`` → null added to ``type`` (and to ``enum``)
- ``additionalProperties: false`` on every object without ``x-kubernetes-preserve-unknown-fields``
  (a schema-valued ``additionalProperties`` is kept and translated)
- at the root: ``apiVersion``/``kind`` constants and a strict ``metadata``

CEL rules (``x-kubernetes-validations``) and defaults are not evaluated; the operator's own
rules are in ``ranker_values.kube.admission``.

Usage::

    validate = crd_validator_from(Path("crds/1.15.0"), "FlinkDeployment")
    validate(obj)                      # raises CustomResourceInvalid listing every error
    custom_resource_errors_from(obj, Path("crds/1.9.0"))   # kind taken from obj
"""

from __future__ import annotations

import copy
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

import jsonschema
import yaml

from ranker_values.errors import UsageError

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

INT_OR_STRING = "x-kubernetes-int-or-string"
PRESERVE_UNKNOWN = "x-kubernetes-preserve-unknown-fields"
EMBEDDED_RESOURCE = "x-kubernetes-embedded-resource"

_STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
# The ObjectMeta fields a client may send (the API server owns the rest of them).
OBJECT_META_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string"},
        "generateName": {"type": "string"},
        "namespace": {"type": "string"},
        "labels": _STRING_MAP,
        "annotations": _STRING_MAP,
        "finalizers": {"type": "array", "items": {"type": "string"}},
        "ownerReferences": {"type": "array", "items": {"type": "object"}},
        "uid": {"type": "string"},
        "resourceVersion": {"type": "string"},
        "generation": {"type": "integer"},
        "creationTimestamp": {"type": ["string", "null"]},
        "deletionTimestamp": {"type": ["string", "null"]},
        "deletionGracePeriodSeconds": {"type": "integer"},
        "managedFields": {"type": "array", "items": {"type": "object"}},
    },
}


class CustomResourceInvalid(AssertionError):
    """A custom resource does not validate against its CRD; ``errors`` lists every problem."""

    def __init__(self, ref: str, errors: list[str]):
        self.errors = errors
        super().__init__(f"{ref} does not validate against its CRD:\n  " + "\n  ".join(errors))


def strict_schema(node: Any) -> Any:
    """Translate one CRD structural schema node (and everything below it) to strict JSON Schema."""
    if not isinstance(node, dict):
        return node
    out = {k: v for k, v in node.items() if not k.startswith("x-kubernetes-") and k != "nullable"}
    if node.get(INT_OR_STRING):
        out.pop("anyOf", None)  # the CRD's anyOf [integer, string] says the same thing
        out["type"] = ["integer", "string"]
    for key in ("properties", "patternProperties"):
        if key in out:
            out[key] = {name: strict_schema(child) for name, child in out[key].items()}
    for key in ("items", "not"):
        if isinstance(out.get(key), dict):
            out[key] = strict_schema(out[key])
    for key in ("anyOf", "allOf", "oneOf"):
        if key in out:
            out[key] = [strict_schema(child) for child in out[key]]
    if isinstance(out.get("additionalProperties"), dict):
        out["additionalProperties"] = strict_schema(out["additionalProperties"])
    if node.get(EMBEDDED_RESOURCE):
        out.setdefault("properties", {})
        out["properties"].setdefault("apiVersion", {"type": "string"})
        out["properties"].setdefault("kind", {"type": "string"})
        out["properties"].setdefault("metadata", copy.deepcopy(OBJECT_META_SCHEMA))
    if _is_object(out) and not node.get(PRESERVE_UNKNOWN) and "additionalProperties" not in out:
        out["additionalProperties"] = False
    if node.get("nullable"):
        _add_null(out)
    return out


def resource_schema(crd: dict[str, Any], version: str) -> dict[str, Any]:
    """The strict JSON Schema of one served version of a CRD, root fields included."""
    served = {v["name"]: v for v in crd["spec"]["versions"] if v.get("served", True)}
    if version not in served:
        raise LookupError(f"{crd['metadata']['name']} does not serve {version} (serves {sorted(served)})")
    schema = strict_schema(served[version]["schema"]["openAPIV3Schema"])
    schema.setdefault("properties", {})
    schema["properties"]["apiVersion"] = {"const": f"{crd['spec']['group']}/{version}"}
    schema["properties"]["kind"] = {"const": crd["spec"]["names"]["kind"]}
    schema["properties"]["metadata"] = copy.deepcopy(OBJECT_META_SCHEMA)
    schema["properties"]["metadata"]["required"] = ["name"]
    schema["required"] = sorted({"apiVersion", "kind", "metadata", *schema.get("required", [])})
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


@lru_cache(maxsize=None)
def load_crd_dir(directory: Path) -> dict[str, dict[str, Any]]:
    """``{kind: CRD}`` from every ``*.yml``/``*.yaml`` CRD file in a directory."""
    if not directory.is_dir():
        raise UsageError(f"{directory}: CRD directory not found")
    crds = {}
    for path in sorted([*directory.glob("*.yml"), *directory.glob("*.yaml")]):
        try:
            docs = list(yaml.load_all(path.read_text(encoding="utf-8"), Loader=_LOADER))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise UsageError(f"{path}: cannot read a CRD file: {str(exc).splitlines()[0]}") from None
        for doc in docs:
            if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition":
                crds[_crd_kind(doc, path)] = doc
    if not crds:
        raise UsageError(f"{directory}: no CustomResourceDefinition found")
    return crds


def _crd_kind(crd: dict[str, Any], path: Path) -> str:
    kind = ((crd.get("spec") or {}).get("names") or {}).get("kind")
    versions = (crd.get("spec") or {}).get("versions")
    if not isinstance(kind, str) or not isinstance(versions, list):
        raise UsageError(f"{path}: a CustomResourceDefinition without spec.names.kind or spec.versions")
    return kind


@lru_cache(maxsize=None)
def crd_validator_from(directory: Path, kind: str, api_version: str = "v1beta1") -> Callable[[dict], None]:
    """A function that validates one object of ``kind`` (spec AND status) or raises with all errors."""
    crds = load_crd_dir(directory)
    if kind not in crds:
        raise LookupError(f"{directory.name} has no CRD for {kind} (has {sorted(crds)})")
    validator = jsonschema.Draft202012Validator(resource_schema(crds[kind], api_version))

    def validate(obj: dict[str, Any]) -> None:
        errors = sorted(_format(e) for e in validator.iter_errors(obj))
        if errors:
            name = (obj.get("metadata") or {}).get("name", "?") if isinstance(obj, dict) else "?"
            raise CustomResourceInvalid(f"{kind}/{name} ({directory.name} CRD)", errors)

    return validate


def custom_resource_errors_from(obj: dict[str, Any], directory: Path) -> list[str]:
    """Every CRD error for ``obj`` (``[]`` = valid); the kind and version come from the object."""
    api_version = str(obj.get("apiVersion", ""))
    try:
        crd_validator_from(directory, str(obj.get("kind")), api_version.rpartition("/")[2])(obj)
    except CustomResourceInvalid as exc:
        return exc.errors
    except LookupError as exc:
        return [str(exc)]
    return []


def _is_object(schema: dict[str, Any]) -> bool:
    kind = schema.get("type")
    return kind == "object" or (isinstance(kind, list) and "object" in kind) or "properties" in schema


def _add_null(schema: dict[str, Any]) -> None:
    kind = schema.get("type")
    if isinstance(kind, str):
        schema["type"] = [kind, "null"]
    elif isinstance(kind, list) and "null" not in kind:
        schema["type"] = [*kind, "null"]
    if "enum" in schema and None not in schema["enum"]:
        schema["enum"] = [*schema["enum"], None]


def _format(error: jsonschema.ValidationError) -> str:
    path = ".".join(str(p) for p in error.absolute_path) or "<root>"
    return f"{path}: {error.message[:300]}"
