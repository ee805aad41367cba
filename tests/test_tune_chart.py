"""The chart's tune stage and RabbitMQ subchart: rendered from the generated example values
(prod), validated strictly, policy-scanned with checkov like the rest of the chart."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from support import ENV_VALUES, require_chart
from support.generated import generated_example_files
from support.render import render, values_for
from test_chart_policy import SKIPS_FILE, load_skips, run_checkov

TUNE = {"stages": {"tune": {"enabled": True, "models": ["xgboost"]}}}
BUNDLED = {**TUNE, "rabbitmq": {"enabled": True, "auth": {"password": "tune-pass"}}}
EXTERNAL = {**TUNE, "externalRabbitmq": {"existingSecret": "amqp-url", "urlKey": "uri"}}


def files(step: str) -> list[Path]:
    require_chart()
    return [ENV_VALUES["prod"], generated_example_files("prod")[step]]


def objects(step: str, overrides: dict) -> list[dict]:
    base = {"externalRedis": {"auth": {"existingSecret": "ranker-redis"}}}
    return [dict(o) for o in render(files(step), {**base, **overrides})]


def find(objs: list[dict], kind: str, component: str) -> list[dict]:
    return [o for o in objs if o["kind"] == kind and o["metadata"]["labels"].get("app.kubernetes.io/component") == component]


def env_of(pod: dict) -> dict:
    return {e["name"]: e for e in pod["spec"]["containers"][0].get("env", [])}


def broker_secret(workload: dict) -> dict:
    (volume,) = [v for v in workload["spec"]["template"]["spec"]["volumes"] if v["name"] == "broker"]
    return volume["secret"]


def test_tune_replaces_the_train_job_of_its_models_in_the_train_step() -> None:
    objs = objects("train", BUNDLED)
    assert not find(objs, "Job", "train")  # the only trained model is tuned instead
    (job,) = find(objs, "Job", "tune")
    pod = job["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["command"] == ["ranker-values"]
    assert container["args"][:4] == ["tune", "/config/config.yml", "--model", "xgboost"] and "--replace-train" in container["args"]
    assert container["image"] == "ghcr.io/ranker-project/ranker-values:0.1.0"
    assert broker_secret(job) == {"secretName": "ranker-rabbitmq", "defaultMode": 288, "items": [{"key": "url", "path": "url"}]}
    assert env_of(job["spec"]["template"])["RANKER_TUNE_BROKER_FILE"]["value"] == "/run/secrets/ranker-tune/url"
    assert {"name": "broker", "mountPath": "/run/secrets/ranker-tune", "readOnly": True} in container["volumeMounts"]
    (workers,) = find(objs, "Deployment", "tune-worker")
    assert workers["spec"]["replicas"] == 2
    wc = workers["spec"]["template"]["spec"]["containers"][0]
    assert wc["args"][0] == "tune-worker" and "--alive-file" in wc["args"]
    assert wc["resources"]["limits"]["cpu"] == "1" and "livenessProbe" in wc and "readinessProbe" in wc
    # the bundled broker: StatefulSet with a PVC, Secret-held credentials, policy for the tune pods only
    (sts,) = find(objs, "StatefulSet", "rabbitmq")
    assert sts["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] == "4Gi"
    (secret,) = [o for o in find(objs, "Secret", "rabbitmq") if o["metadata"]["name"] == "ranker-rabbitmq"]
    assert secret["stringData"]["url"] == "amqp://ranker:tune-pass@ranker-rabbitmq.ranking.svc:5672/%2F"
    (cm,) = find(objs, "ConfigMap", "rabbitmq")
    assert "tune-pass" not in yaml.safe_dump(cm)
    (policy,) = find(objs, "NetworkPolicy", "rabbitmq")
    assert policy["spec"]["ingress"][0]["from"][0]["podSelector"]["matchExpressions"][0]["values"] == ["tune", "tune-worker"]


def test_the_erlang_cookie_is_random_per_install_and_not_derived_from_the_amqp_password() -> None:
    """The cookie (control of the broker) is not computable from the password every tune pod
    holds: offline renders (no helm lookup) draw a fresh one each time, the AMQP Secret has none."""
    import base64
    import hashlib

    from support.render import parse_manifests, render_texts_uncached

    base = {"externalRedis": {"auth": {"existingSecret": "ranker-redis"}}}
    cookies = []
    for _ in range(2):  # uncached: two installs
        objs = [dict(o) for o in parse_manifests(render_texts_uncached(files("train"), {**base, **BUNDLED}))]
        secrets = {o["metadata"]["name"]: o for o in find(objs, "Secret", "rabbitmq")}
        assert set(secrets) == {"ranker-rabbitmq", "ranker-rabbitmq-erlang"}
        assert "erlang-cookie" not in secrets["ranker-rabbitmq"]["stringData"]
        cookies.append(base64.b64decode(secrets["ranker-rabbitmq-erlang"]["data"]["erlang-cookie"]).decode())
    assert cookies[0] != cookies[1]
    derived = hashlib.sha256(b"tune-pass").hexdigest()
    for cookie in cookies:
        assert len(cookie) == 64 and cookie.isalnum() and derived not in cookie and "tune-pass" not in cookie


def test_without_tune_the_train_step_is_unchanged_and_no_broker_renders() -> None:
    plain = objects("train", {})
    assert find(plain, "Job", "train") and not find(plain, "Job", "tune") and not find(plain, "StatefulSet", "rabbitmq")


def test_tune_leaves_the_release_with_the_train_jobs_in_the_update_step() -> None:
    objs = objects("update", BUNDLED)
    assert not find(objs, "Job", "tune") and not find(objs, "Deployment", "tune-worker")


def test_an_external_rabbitmq_is_read_from_its_existing_secret() -> None:
    objs = objects("train", EXTERNAL)
    (job,) = find(objs, "Job", "tune")
    assert broker_secret(job)["secretName"] == "amqp-url" and broker_secret(job)["items"] == [{"key": "uri", "path": "url"}]
    assert not find(objs, "StatefulSet", "rabbitmq")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (TUNE, "stages.tune.enabled needs a broker"),
        ({"stages": {"tune": {"enabled": True, "models": ["nope"]}}, "rabbitmq": {"enabled": True, "auth": {"password": "p"}}}, '"nope" is not a trained'),
        ({**TUNE, "rabbitmq": {"enabled": True}}, "rabbitmq.auth.password or rabbitmq.auth.existingSecret is required"),
    ],
)
def test_an_incomplete_tune_setup_fails_the_render_with_the_key_to_set(overrides: dict, message: str) -> None:
    with pytest.raises(Exception, match=message):
        objects("train", overrides)


def test_subchart_labels_and_pull_secrets_follow_global_values() -> None:
    objs = objects("train", {**BUNDLED, "global": {"commonLabels": {"team": "search"}, "imagePullSecrets": [{"name": "regcred"}]}})
    (sts,) = find(objs, "StatefulSet", "rabbitmq")
    assert sts["metadata"]["labels"]["team"] == "search"
    assert sts["spec"]["template"]["spec"]["imagePullSecrets"] == [{"name": "regcred"}]


def test_tune_objects_pass_the_policy_scan_with_the_charts_skip_list(tmp_path: Path) -> None:
    objs = objects("train", BUNDLED)
    # the tune objects plus the release's default-deny NetworkPolicy that covers every pod
    mine = [o for o in objs if o["metadata"]["labels"].get("app.kubernetes.io/component") in ("tune", "tune-worker", "rabbitmq", "network")]
    assert len(mine) >= 8
    for index, obj in enumerate(mine):
        (tmp_path / f"{index:03d}-{obj['kind']}.yaml".lower()).write_text(yaml.safe_dump(obj, sort_keys=False))
    ids = [s["id"] for s in load_skips()]
    result = run_checkov(tmp_path, ids)
    assert result["resources"] >= 4
    failed = sorted({(f["check_id"], f["resource"]) for f in result["failed"]})
    assert failed == [], f"checkov failures (fix the templates or add an honest entry to {SKIPS_FILE.name}): {failed}"


def test_the_rabbitmq_containers_startup_script_runs_a_real_broker_with_the_secrets_credentials(tmp_path: Path) -> None:
    """The StatefulSet's own script, env and probes, run against Debian's rabbitmq-server (3.10;
    the chart's image is 3.13) with the pod's paths mapped into tmp_path and the listener bound to
    127.0.0.1: the credentials reach the broker from the Secret, guest does not exist, the URL in
    the Secret works, quorum queues with a delivery limit can be declared, the probes pass."""
    import base64
    import os
    import time
    from urllib.parse import urlsplit

    import pika

    from support.net import free_port, wait_port
    from test_tune_support import RABBIT_SERVER, _need, stop

    _need(RABBIT_SERVER, "install Debian's rabbitmq-server (scripts/setup.sh test does)")
    password = "tune-p@ss/w:rd"
    objs = objects("train", {**BUNDLED, "rabbitmq": {"enabled": True, "auth": {"password": password}}})
    (sts,) = find(objs, "StatefulSet", "rabbitmq")
    (cm,) = find(objs, "ConfigMap", "rabbitmq")
    (secret,) = [o for o in find(objs, "Secret", "rabbitmq") if o["metadata"]["name"] == "ranker-rabbitmq"]
    container = sts["spec"]["template"]["spec"]["containers"][0]
    port, epmd_port, dist = free_port(), free_port(), free_port()
    paths = {"/run/secrets/rabbitmq": tmp_path / "secrets", "/etc/rabbitmq-base": tmp_path / "base",
             "/run/rabbitmq": tmp_path / "run", "/var/lib/rabbitmq": tmp_path / "data"}

    def mapped(text: str) -> str:
        for pod_path, local in paths.items():
            text = text.replace(pod_path, str(local))
        return text

    for local in paths.values():
        local.mkdir()
    for key, value in cm["data"].items():
        value = value.replace("listeners.tcp.default = 5672", f"listeners.tcp.default = 127.0.0.1:{port}")
        (paths["/etc/rabbitmq-base"] / key).write_text(value)
    for key in ("username", "password"):
        (paths["/run/secrets/rabbitmq"] / key).write_text(secret["stringData"][key])
    (cookie,) = [o for o in find(objs, "Secret", "rabbitmq") if o["metadata"]["name"].endswith("-erlang")]
    (paths["/run/secrets/rabbitmq"] / "erlang-cookie").write_bytes(base64.b64decode(cookie["data"]["erlang-cookie"]))
    env = {e["name"]: mapped(e["value"]) for e in container["env"]}
    env.update({
        "PATH": f"{RABBIT_SERVER.parent}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        "ERL_EPMD_ADDRESS": "127.0.0.1", "ERL_EPMD_PORT": str(epmd_port), "RABBITMQ_DIST_PORT": str(dist),
        "RABBITMQ_LOG_BASE": str(tmp_path / "log"),
        "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
    })
    assert container["command"] == ["sh", "-ec"]
    epmd = subprocess.Popen(["epmd", "-address", "127.0.0.1", "-port", str(epmd_port)], env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    log = open(tmp_path / "server.log", "w")
    server = subprocess.Popen(["sh", "-ec", mapped(container["args"][0])], env=env, stdout=log, stderr=subprocess.STDOUT,
                              start_new_session=True)
    try:
        assert wait_port(port, 60), (tmp_path / "server.log").read_text()[-3000:]
        url = urlsplit(secret["stringData"]["url"])
        local_url = url._replace(netloc=f"{url.username}:{url.password}@127.0.0.1:{port}").geturl()
        deadline = time.monotonic() + 30
        while True:
            try:
                connection = pika.BlockingConnection(pika.URLParameters(local_url))
                break
            except pika.exceptions.AMQPConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        channel = connection.channel()
        channel.queue_declare("probe", durable=True, arguments={"x-queue-type": "quorum", "x-delivery-limit": 2})
        connection.close()
        with pytest.raises(pika.exceptions.ProbableAuthenticationError):
            pika.BlockingConnection(pika.URLParameters(f"amqp://guest:guest@127.0.0.1:{port}/%2F"))
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            done = subprocess.run(container[probe]["exec"]["command"], env=env, capture_output=True, text=True, timeout=60)
            assert done.returncode == 0, f"{probe}: {done.stdout}{done.stderr}"
        assert password not in (paths["/etc/rabbitmq-base"] / "00-base.conf").read_text()
    finally:
        stop(server)
        stop(epmd)
        log.close()


def test_the_tasker_job_is_identical_in_every_step_that_keeps_it_so_helm_never_reruns_a_search() -> None:
    steps = ["train", "upload", "api"]
    jobs = {step: find(objects(step, BUNDLED), "Job", "tune") for step in steps}
    workers = {step: find(objects(step, BUNDLED), "Deployment", "tune-worker") for step in steps}
    assert all(len(j) == 1 for j in jobs.values())
    assert jobs["train"] == jobs["upload"] == jobs["api"]
    assert workers["train"] == workers["upload"] == workers["api"]
