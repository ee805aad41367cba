"""Which namespace a command works in when ``--namespace`` is not given: like kubectl and helm.

Precedence: ``--namespace``/``-n`` > ``$RANKER_NAMESPACE`` > the namespace of the kubeconfig
context in use (``--kube-context``, else ``current-context``) > ``default``.

The kubeconfig is read here with PyYAML through the input gate, not with the kubernetes client
(a second's import on every start). ``$KUBECONFIG`` is a list of files merged the way kubectl
merges them: the first file that sets ``current-context`` wins, and the first file that defines
a context name wins; files that do not exist are skipped.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ranker_values.errors import InvalidInput, UsageError

ENV_NAMESPACE = "RANKER_NAMESPACE"
DEFAULT_NAMESPACE = "default"
DEFAULT_KUBECONFIG = "~/.kube/config"
MAX_KUBECONFIG_BYTES = 10 * 1024 * 1024
#: A Kubernetes namespace name (RFC 1123 label).
NAMESPACE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


@dataclass(frozen=True)
class Namespace:
    name: str
    source: str  # "--namespace", "RANKER_NAMESPACE", "kubeconfig context 'x' (path)", "default"


def kubeconfig_paths(environ: Mapping[str, str] | None = None) -> list[str]:
    """The kubeconfig files in merge order: ``$KUBECONFIG`` split on ``os.pathsep``, else ``~/.kube/config``."""
    environ = os.environ if environ is None else environ
    listed = [p for p in (environ.get("KUBECONFIG") or "").split(os.pathsep) if p]
    return [os.path.expanduser(p) for p in (listed or [DEFAULT_KUBECONFIG])]


def check_namespace(name: str, where: str) -> str:
    if len(name) > 63 or not NAMESPACE.match(name):
        raise UsageError(f"{where} {name!r}: a namespace is 1-63 lowercase letters, digits or '-'")
    return name


def resolve_namespace(
    flag: str | None, kube_context: str | None = None, environ: Mapping[str, str] | None = None
) -> Namespace:
    """The namespace to use, and where it came from (see the module docstring)."""
    environ = os.environ if environ is None else environ
    if flag is not None:
        return Namespace(check_namespace(flag, "--namespace"), "--namespace")
    from_env = environ.get(ENV_NAMESPACE)
    if from_env:  # set but empty counts as unset, like click's envvar handling
        return Namespace(check_namespace(from_env, ENV_NAMESPACE), ENV_NAMESPACE)
    found = context_namespace(kube_context, environ)
    if found is not None:
        return found
    return Namespace(DEFAULT_NAMESPACE, DEFAULT_NAMESPACE)


def context_namespace(kube_context: str | None, environ: Mapping[str, str] | None = None) -> Namespace | None:
    """The namespace of ``kube_context`` (or the current context) in the kubeconfig; None when no
    file, no such context or the context sets none. A file that is not a kubeconfig is a usage
    error (exit 2) naming it: guessing a namespace for an operation on a cluster is worse."""
    current: str | None = kube_context
    contexts: dict[str, tuple[Any, str]] = {}
    for path in kubeconfig_paths(environ):
        if not os.path.exists(path):
            continue
        doc = _read(path)
        if current is None and isinstance(doc.get("current-context"), str) and doc["current-context"]:
            current = doc["current-context"]
        entries = doc.get("contexts") or []
        if not isinstance(entries, list):
            raise UsageError(f"KUBECONFIG: {path}: 'contexts' is not a list; not a kubeconfig file")
        for entry in entries:
            if isinstance(entry, dict) and isinstance(entry.get("name"), str):
                contexts.setdefault(entry["name"], (entry.get("context"), path))
    if current is None or current not in contexts:
        return None
    body, path = contexts[current]
    namespace = body.get("namespace") if isinstance(body, dict) else None
    if namespace is None or namespace == "":
        return None
    where = f"kubeconfig context {current!r} ({path})"
    if not isinstance(namespace, str):
        raise UsageError(f"{where}: namespace must be a string, got {namespace!r}")
    return Namespace(check_namespace(namespace, f"{where}: namespace"), where)


def _read(path: str) -> dict[str, Any]:
    from ranker_values.files.inputs import load_yaml_documents

    try:
        docs = load_yaml_documents(path, "kubeconfig file", max_bytes=MAX_KUBECONFIG_BYTES)
    except (UsageError, InvalidInput) as exc:
        raise UsageError(f"KUBECONFIG: {exc.message}; fix it or pass --namespace") from None
    if not docs:
        return {}  # an empty file: kubectl treats it as an empty config
    if len(docs) > 1 or not isinstance(docs[0], dict):
        raise UsageError(f"KUBECONFIG: {path}: not a kubeconfig file (one YAML mapping); fix it or pass --namespace")
    return docs[0]
