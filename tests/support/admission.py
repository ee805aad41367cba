"""The Flink operator's admission rules for the tests: the product module ``ranker_values.kube.admission``."""

from ranker_values.kube.admission import admission_errors, ha_enabled  # noqa: F401 - re-exported
