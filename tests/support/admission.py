"""The Flink operator's admission rules for the tests: the product module ``generator.kube.admission``."""

from generator.kube.admission import admission_errors, ha_enabled  # noqa: F401 - re-exported
