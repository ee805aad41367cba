"""Kubernetes schema validation for the tests: the product module ``generator.kube.schemas``."""

from generator.kube.schemas import (  # noqa: F401 - re-exported for the tests
    BUILTIN_KINDS,
    CUSTOM_KINDS,
    kind_of,
    name_errors,
    validation_errors,
    validator_for,
)
