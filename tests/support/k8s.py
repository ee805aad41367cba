"""Kubernetes schema validation for the tests: the product module ``ranker_values.kube.schemas``."""

from ranker_values.kube.schemas import (  # noqa: F401 - re-exported for the tests
    BUILTIN_KINDS,
    CUSTOM_KINDS,
    kind_of,
    name_errors,
    validation_errors,
    validator_for,
)
