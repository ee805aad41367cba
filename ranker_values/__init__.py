"""ranker-values: validate a Metarank 0.4 ranking config and derive Helm values for charts/ranker."""

__version__ = "0.1.0"
