"""``KubernetesCluster`` with the real ``kubernetes`` client against API servers that cannot answer.

No API server can run here (README "What stays unproven"), but an unreachable one exercises
everything up to the network: the client validates every argument we pass (a wrong keyword or
a missing positional raises ``ApiTypeError``/``ApiValueError`` before any request), builds the URL
from the positional arguments (the error names it, so the argument order is checked), and applies
``_request_timeout`` and our retry bound.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

pytest.importorskip("kubernetes")

from kubernetes import client  # noqa: E402
from kubernetes.config import kube_config  # noqa: E402

from ranker_values.kube.cluster import ClusterError, KubernetesCluster  # noqa: E402
from support.net import free_port  # noqa: E402

TOKEN = "review-test-token-0123456789"


def kubeconfig(tmp_path: Path, port: int) -> Path:
    path = tmp_path / "kubeconfig"
    path.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: here\n"
        f"clusters:\n- name: c\n  cluster: {{server: 'https://127.0.0.1:{port}', insecure-skip-tls-verify: true}}\n"
        f"users:\n- name: u\n  user: {{token: {TOKEN}}}\n"
        "contexts:\n- name: here\n  context: {cluster: c, user: u}\n"
    )
    return path


@pytest.fixture
def use_kubeconfig(monkeypatch):
    def use(path: Path) -> None:
        # the client computes its default path when first imported; KubernetesCluster reads
        # $KUBECONFIG when it is created, so setting it now works whoever imported the client
        monkeypatch.setenv("KUBECONFIG", str(path))
        monkeypatch.setattr(kube_config, "KUBE_CONFIG_DEFAULT_LOCATION", "/nonexistent/kubeconfig")

    return use


CALLS = [
    ("get_custom", ("flinkdeployments", "job", "ns"), "/apis/flink.apache.org/v1beta1/namespaces/ns/flinkdeployments/job"),
    ("list_custom", ("flinkstatesnapshots", "ns"), "/apis/flink.apache.org/v1beta1/namespaces/ns/flinkstatesnapshots"),
    ("create_custom", ("flinkstatesnapshots", "ns", {"kind": "FlinkStateSnapshot"}), "/apis/flink.apache.org/v1beta1/namespaces/ns/flinkstatesnapshots"),
    ("patch_custom", ("flinkdeployments", "job", "ns", {"spec": {}}), "/apis/flink.apache.org/v1beta1/namespaces/ns/flinkdeployments/job"),
    ("get_crd", ("flinkdeployments.flink.apache.org",), "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/flinkdeployments.flink.apache.org"),
    ("list_deployments", (None,), "/apis/apps/v1/deployments"),
    ("list_deployments", ("ns",), "/apis/apps/v1/namespaces/ns/deployments"),
    ("get_service_account", ("flink", "ns"), "/api/v1/namespaces/ns/serviceaccounts/flink"),
    ("get_secret_keys", ("creds", "ns"), "/api/v1/namespaces/ns/secrets/creds"),
]


def test_every_call_is_well_formed_and_fails_as_unreachable(tmp_path, use_kubeconfig):
    use_kubeconfig(kubeconfig(tmp_path, free_port()))  # nothing listens there
    cluster = KubernetesCluster(timeout_seconds=2)
    for method, args, url in CALLS:
        with pytest.raises(ClusterError) as caught:
            getattr(cluster, method)(*args)
        message = caught.value.message
        assert message.startswith("Kubernetes API unreachable:"), (method, message)
        assert f"url: {url}" in message, (method, message)
        assert TOKEN not in message


def test_a_server_that_never_answers_is_bounded_by_the_timeout(tmp_path, use_kubeconfig):
    """The connection is accepted by the kernel, the TLS handshake never completes. urllib3
    would try 4 times by default; we allow one retry: about 2 x the timeout per call."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        use_kubeconfig(kubeconfig(tmp_path, silent.getsockname()[1]))
        cluster = KubernetesCluster(timeout_seconds=0.5)
        started = time.monotonic()
        with pytest.raises(ClusterError, match="unreachable"):
            cluster.get_crd("flinkdeployments.flink.apache.org")
        elapsed = time.monotonic() - started
    assert 0.9 <= elapsed < 1.8, elapsed


def test_missing_kubeconfig_names_the_kubeconfig_problem(tmp_path, use_kubeconfig, monkeypatch):
    """Outside a pod the in-cluster fallback's "Service host/port is not set" hid the real reason."""
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    use_kubeconfig(tmp_path / "missing")
    with pytest.raises(ClusterError, match="cannot load Kubernetes credentials: Invalid kube-config file"):
        KubernetesCluster()
    with pytest.raises(ClusterError, match="cannot load Kubernetes credentials"):
        KubernetesCluster(context="nope")


def test_the_process_wide_client_configuration_is_left_alone(tmp_path, use_kubeconfig):
    before = client.Configuration.get_default_copy().host
    use_kubeconfig(kubeconfig(tmp_path, free_port()))  # nothing listens there
    KubernetesCluster()
    assert client.Configuration.get_default_copy().host == before
