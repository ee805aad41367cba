"""Redis checks against real redis-server processes on 127.0.0.1."""

from __future__ import annotations

import time

import pytest

from ranker_values.ops.check.runner import Status
from check_support import (
    make_deployment,
    run,
)
from support.net import free_port

GOOD = ("--save", "", "--appendonly", "yes", "--maxmemory", "64mb", "--maxmemory-policy", "noeviction")
BAD = ("--save", "", "--appendonly", "no", "--maxmemory-policy", "allkeys-lru")


def _client(port: int, password: str | None = None):
    import redis

    return redis.Redis(host="127.0.0.1", port=port, password=password)


def test_well_configured_redis_passes_with_auth_and_reports_no_feature_keys_before_upload(redis_factory):
    # an admin user with a password, and the passwordless default user the engine connects as
    server = redis_factory(*GOOD, "--user", "admin", "on", ">s3cret-pass", "~*", "&*", "+@all")
    deployment = make_deployment(redis=("127.0.0.1", server.port))
    results = run(deployment, ["redis"], redis_url=f"redis://admin:s3cret-pass@127.0.0.1:{server.port}/0")

    assert results["redis.connect"].status is Status.PASS, results["redis.connect"]
    assert "Redis 7." in results["redis.connect"].reason and "AUTH" in results["redis.connect"].reason
    assert "accepts the engine's connection without a password" in results["redis.connect"].reason
    assert results["redis.eviction"].status is Status.PASS
    assert results["redis.persistence"].status is Status.PASS and "AOF" in results["redis.persistence"].reason
    assert results["redis.memory"].status is Status.PASS and "of maxmemory 64.0 MiB" in results["redis.memory"].reason
    assert results["redis.features"].status is Status.WARN
    assert "run the upload step first" in results["redis.features"].reason
    assert all("s3cret" not in r.reason + r.fix for r in results.values())


def test_after_upload_missing_feature_keys_fail_and_present_ones_pass(redis_factory):
    server = redis_factory(*GOOD)
    deployment = make_deployment(redis=("127.0.0.1", server.port))
    assert run(deployment, ["redis.features"], done="upload")["redis.features"].status is Status.FAIL

    client = _client(server.port)
    # featury's layout: <scope>/<tenant>/<feature>/<id>; rate features keep <name>_<top>/<name>_<bottom>
    for item in range(50):
        client.set(f"item/default/popularity/i{item}", b"\x01")
        client.set(f"item/default/genre/i{item}", b"\x01")
        client.set(f"item/default/ctr_click/i{item}", b"\x01")
        client.set(f"item/default/clicks/i{item}", b"\x01")
    client.set("unrelated-key", b"x")
    result = run(deployment, ["redis.features"], done="upload")["redis.features"]
    assert result.status is Status.PASS, result
    assert "200 feature keys" in result.reason and "tenants: default" in result.reason

    client.delete(*[f"item/default/clicks/i{item}" for item in range(50)])
    result = run(deployment, ["redis.features"], done="upload")["redis.features"]
    assert result.status is Status.WARN and "no keys for: clicks" in result.reason


def test_allkeys_lru_without_persistence_fails_with_the_reason(redis_factory):
    server = redis_factory(*BAD)
    results = run(make_deployment(redis=("127.0.0.1", server.port)), ["redis"])

    assert results["redis.connect"].status is Status.PASS
    eviction = results["redis.eviction"]
    assert eviction.status is Status.FAIL
    assert "allkeys-lru" in eviction.reason and "silently drop feature state" in eviction.reason
    assert "noeviction" in eviction.fix
    persistence = results["redis.persistence"]
    assert persistence.status is Status.FAIL and "no persistence" in persistence.reason
    assert results["redis.memory"].status is Status.WARN and "no maxmemory" in results["redis.memory"].reason


def test_rdb_save_points_count_as_persistence(redis_factory):
    server = redis_factory("--save", "900 1", "--appendonly", "no")
    result = run(make_deployment(redis=("127.0.0.1", server.port)), ["redis.persistence"])["redis.persistence"]
    assert result.status is Status.PASS and "RDB" in result.reason and "900 1" in result.reason


def test_config_get_refused_gives_warning_not_crash(redis_factory):
    # Managed Redis (ElastiCache, Memorystore) refuses CONFIG: simulated by renaming the command away.
    server = redis_factory("--save", "", "--appendonly", "no", "--rename-command", "CONFIG", "")
    results = run(make_deployment(redis=("127.0.0.1", server.port)), ["redis.persistence", "redis.eviction"])
    assert results["redis.persistence"].status is Status.WARN
    assert "CONFIG GET is refused" in results["redis.persistence"].reason
    # INFO still tells the eviction policy, so that check does not need CONFIG
    assert results["redis.eviction"].status is Status.PASS


def test_missing_and_wrong_password_are_named(redis_factory):
    server = redis_factory(*GOOD, "--requirepass", "right")
    deployment = make_deployment(redis=("127.0.0.1", server.port))

    missing = run(deployment, ["redis.connect"])["redis.connect"]
    assert missing.status is Status.FAIL and "requires a password" in missing.reason
    assert "REDIS_PASSWORD" in missing.fix

    wrong = run(deployment, ["redis.connect"], environ={"MY_PW": "wrong"}, redis_password_env="MY_PW")["redis.connect"]
    assert wrong.status is Status.FAIL and "wrong password" in wrong.reason and "MY_PW" in wrong.fix
    assert "wrong" not in wrong.reason.replace("wrong password", "")


def test_redis_url_overrides_the_config_host(redis_factory):
    server = redis_factory(*GOOD)
    deployment = make_deployment(redis=("redis.invalid", 6379))
    result = run(deployment, ["redis.connect"], redis_url=f"redis://127.0.0.1:{server.port}/0")["redis.connect"]
    assert result.status is Status.PASS and f"127.0.0.1:{server.port}" in result.reason


def test_unreachable_redis_fails_within_the_timeout_and_shares_one_reason():
    port = free_port()  # nothing listens there
    started = time.monotonic()
    results = run(make_deployment(redis=("127.0.0.1", port)), ["redis"], timeout=2.0)
    assert time.monotonic() - started < 2.5
    assert {r.status for r in results.values()} == {Status.FAIL}
    assert all("unreachable" in r.reason and f"127.0.0.1:{port}" in r.reason for r in results.values())


def test_tls_against_a_plain_server_fails_cleanly(redis_factory):
    server = redis_factory(*GOOD)
    deployment = make_deployment(redis=("127.0.0.1", server.port))
    result = run(deployment, ["redis.connect"], values={"externalRedis": {"tls": True}}, timeout=3.0)["redis.connect"]
    assert result.status is Status.FAIL
    assert "TLS" in result.reason or "unreachable" in result.reason or "timed out" in result.reason


def test_memory_state_makes_redis_checks_not_applicable():
    results = run(make_deployment(redis=None), ["redis"])
    assert {r.status for r in results.values()} == {Status.WARN}
    assert "in memory" in results["redis.connect"].reason


@pytest.mark.parametrize("share,status", [(0.95, Status.FAIL), (0.8, Status.WARN)])
def test_memory_headroom_thresholds(redis_factory, share, status):
    server = redis_factory("--save", "", "--appendonly", "no", "--maxmemory-policy", "noeviction")
    client = _client(server.port)
    used = int(client.info("memory")["used_memory"])
    client.config_set("maxmemory", int(used / share))
    result = run(make_deployment(redis=("127.0.0.1", server.port)), ["redis.memory"])["redis.memory"]
    assert result.status is status, result
