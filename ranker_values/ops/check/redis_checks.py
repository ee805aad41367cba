"""Redis checks: reachable with AUTH/TLS as configured and without a password (Metarank 0.4.1
cannot send one), never evicts, persists, and (after the upload step) holds feature keys with
memory to spare.

Host and port come from the config's ``inference.state`` (``--redis-url`` overrides them, e.g.
through ``kubectl port-forward``); TLS from ``externalRedis.tls``; the password only from an
environment variable (``REDIS_PASSWORD`` or ``--redis-password-env``), never from a values file,
and it is never printed.

Metarank 0.4 keeps feature state in Redis under featury's key layout
``<scope>/<tenant>/<feature>/<id>`` (``RedisStore.RedisKey`` in findify/featury, e.g.
``item/default/popularity/item1``): the feature check samples keys with SCAN and groups them by
the third segment.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ranker_values.ops.check.context import CheckContext
from ranker_values.ops.check.runner import Check, CheckAbort, Outcome, failed, passed, warned
from ranker_values.values.files import dig

#: SCAN budget of the feature check: at most this many keys are looked at.
SCAN_BUDGET = 20_000
#: Feature types without per-key state of their own (computed from the request).
STATELESS_TYPES = frozenset({"relevancy", "local_time", "ua"})


@dataclass(frozen=True)
class RedisHandle:
    client: Any
    where: str  # "host:port (AUTH, TLS)" - never the password
    version: str
    engine_refused: bool = False  # the server refuses a client without a password (as the engine is)


#: docs/engine-0.4.1.md E20: StateStoreConfig.scala:24 RedisConfig(host, port, format): no password.
ENGINE_NO_AUTH = "Metarank 0.4.1 cannot send one (its Redis state config has host, port and format only)"
ENGINE_AUTH_FIX = (
    "let the engine in without AUTH: a passwordless default user limited by ACL to the engine's keys "
    "and commands, reachable only from the ranker pods (NetworkPolicy), as the bundled Redis "
    "(redis.enabled) does"
)


def _abort(outcome: Outcome) -> CheckAbort:
    return CheckAbort(outcome)


def _target(ctx: CheckContext) -> tuple[str, int]:
    state = ctx.deployment.state
    if state.type != "redis":
        raise _abort(warned("inference.state is in memory: no Redis to check"))
    if dig(dict(ctx.values), "redis.enabled", False):
        raise _abort(
            warned(
                "the bundled Redis runs inside the cluster: not reachable from here",
                "kubectl port-forward svc/<release>-redis 6379 and pass --redis-url redis://127.0.0.1:6379",
            )
        )
    return state.host or "localhost", int(state.port or 6379)


def _connect(ctx: CheckContext) -> RedisHandle:
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    timeout = ctx.options.timeout
    common: dict[str, Any] = {
        "socket_connect_timeout": min(5.0, timeout / 2),
        "socket_timeout": min(10.0, timeout / 2),
        "retry": Retry(NoBackoff(), 0),  # fail fast: the runner owns the time budget
        "health_check_interval": 0,
        "protocol": 2,  # RESP2 like Metarank's Jedis; HELLO (RESP3) fails on Redis < 6
    }
    password = ctx.options.environ.get(ctx.options.redis_password_env) or None
    if password:
        common["password"] = password
    if ctx.options.redis_url:
        try:
            client = redis.Redis.from_url(ctx.options.redis_url, **common)
        except ValueError as exc:  # the message names the problem, never the URL (it may hold a password)
            raise _abort(failed(f"--redis-url: {exc}", "e.g. redis://127.0.0.1:6379 or rediss://host:6380")) from None
    else:
        host, port = _target(ctx)
        tls = bool(dig(dict(ctx.values), "externalRedis.tls", False))
        client = redis.Redis(host=host, port=port, ssl=tls, **common)
    kwargs = client.connection_pool.connection_kwargs
    tls_on = client.connection_pool.connection_class.__name__ == "SSLConnection"
    flags = [f for f, on in (("AUTH", bool(kwargs.get("password"))), ("TLS", tls_on)) if on]
    where = f"{kwargs.get('host')}:{kwargs.get('port')}" + (f" ({', '.join(flags)})" if flags else "")
    try:
        server = client.info("server")
    except Exception as exc:  # noqa: BLE001 - every redis-py failure becomes one line
        from urllib.parse import urlsplit

        in_url = bool(ctx.options.redis_url) and bool(urlsplit(ctx.options.redis_url).password)
        source = "the password in --redis-url" if in_url else ctx.options.redis_password_env
        raise _abort(_describe(exc, where, ctx.options.redis_password_env, source)) from exc
    refused = bool(kwargs.get("password")) and _refuses_without_password(client, tls_on, common)
    return RedisHandle(client, where, str(server.get("redis_version", "?")), engine_refused=refused)


def _refuses_without_password(client: Any, tls: bool, common: dict[str, Any]) -> bool:
    """Whether the server refuses what the engine sends: a connection without AUTH (PING)."""
    import redis

    kwargs = client.connection_pool.connection_kwargs
    settings = {k: v for k, v in common.items() if k != "password"}
    probe = redis.Redis(host=kwargs.get("host"), port=kwargs.get("port"), db=kwargs.get("db", 0), ssl=tls, **settings)
    try:
        probe.ping()
    except Exception as exc:  # noqa: BLE001 - only an authentication refusal counts here
        return _is_noauth(exc)
    finally:
        probe.close()
    return False


def _is_noauth(exc: Exception) -> bool:
    text = str(exc)
    return "NOAUTH" in text or "Authentication required" in text


def _describe(exc: Exception, where: str, password_env: str, password_source: str | None = None) -> Outcome:
    text = str(exc)
    name = type(exc).__name__
    if "NOAUTH" in text or "Authentication required" in text or "already authenticated" in text:
        return failed(
            f"{where}: Redis requires a password, which {ENGINE_NO_AUTH}: the engine's connections would be refused",
            f"{ENGINE_AUTH_FIX}; export {password_env}=… (read only from there) to run the other Redis checks",
        )
    if "WRONGPASS" in text or "invalid username-password" in text or "invalid password" in text:
        return failed(f"{where}: AUTH rejected: wrong password", f"check {password_source or password_env} against externalRedis.auth.existingSecret")
    if "without any password configured" in text:
        return failed(f"{where}: a password was sent but the server has none", f"unset {password_env}, or enable requirepass on the server")
    if "SSL" in text or "ssl" in name.lower() or "wrong version number" in text:
        return failed(f"{where}: TLS handshake failed: {text}", "check externalRedis.tls against the server's TLS setting")
    if name in ("ConnectionError", "TimeoutError") or isinstance(exc, OSError):
        return failed(f"{where}: unreachable: {text}", "check inference.state host/port and the network path (or --redis-url)")
    return failed(f"{where}: {name}: {text}", "see the Redis error above")


def handle(ctx: CheckContext) -> RedisHandle:
    return ctx.shared("redis.client", lambda: _connect(ctx))


def _info(h: RedisHandle, section: str) -> dict[str, Any]:
    try:
        return h.client.info(section)
    except Exception as exc:  # noqa: BLE001
        raise _abort(failed(f"{h.where}: INFO {section} failed: {exc}", "see the Redis error above")) from exc


def _config_get(h: RedisHandle, name: str) -> str | None:
    """CONFIG GET, or None when the server refuses it (managed Redis often does)."""
    try:
        answer = h.client.config_get(name)
    except Exception:  # noqa: BLE001 - refused or renamed: the caller says so
        return None
    return answer.get(name) if isinstance(answer, dict) else None


# --- the checks -----------------------------------------------------------------------------


def check_connect(ctx: CheckContext) -> Outcome:
    """Reachable as configured, and reachable the way the engine connects: without a password."""
    h = handle(ctx)
    if h.engine_refused:
        return failed(
            f"Redis {h.version} at {h.where} refuses clients without a password, and {ENGINE_NO_AUTH}: "
            "the api, upload and update pods could not use it",
            ENGINE_AUTH_FIX,
        )
    return passed(f"Redis {h.version} at {h.where}; accepts the engine's connection without a password")


def check_eviction(ctx: CheckContext) -> Outcome:
    h = handle(ctx)
    policy = _info(h, "memory").get("maxmemory_policy") or _config_get(h, "maxmemory-policy")
    if not policy:
        return warned(
            "cannot read maxmemory-policy (INFO has no maxmemory_policy and CONFIG GET is refused)",
            "make sure the provider's eviction policy is noeviction",
        )
    if policy == "noeviction":
        return passed("maxmemory-policy is noeviction")
    return failed(
        f"maxmemory-policy is {policy}: Redis will silently drop feature state when memory runs out",
        "set maxmemory-policy noeviction (redis.conf or the provider's parameter group)",
    )


def check_persistence(ctx: CheckContext) -> Outcome:
    h = handle(ctx)
    info = _info(h, "persistence")
    if str(info.get("aof_enabled", "0")) == "1":
        return passed("AOF persistence is on")
    save = _config_get(h, "save")
    if save is None:
        return warned(
            "AOF is off and CONFIG GET is refused: cannot tell whether RDB snapshots are on",
            "check the provider's persistence/backup setting",
        )
    if save.strip():
        return passed(f"RDB snapshots are on (save {save.strip()})")
    return failed(
        "no persistence (AOF off, no RDB save points): a restart loses all feature state",
        "set appendonly yes (or RDB save points) on the Redis server",
    )


def _expected_features(ctx: CheckContext) -> list[str]:
    features = ctx.deployment.config.get("features") or []
    return [
        str(f.get("name"))
        for f in features
        if isinstance(f, dict) and f.get("name") and str(f.get("type")) not in STATELESS_TYPES
    ]


def _sample_keys(h: RedisHandle) -> tuple[dict[str, int], set[str], int, bool]:
    """Feature name → keys seen, tenants seen, keys looked at, whether the scan finished."""
    seen: dict[str, int] = {}
    tenants: set[str] = set()
    looked = 0
    cursor = 0
    while True:
        cursor, keys = h.client.scan(cursor=cursor, match="*/*/*/*", count=1000)
        for raw in keys:
            key = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
            parts = key.split("/", 3)
            if len(parts) == 4:
                tenants.add(parts[1])
                seen[parts[2]] = seen.get(parts[2], 0) + 1
        looked += len(keys)
        if cursor == 0:
            return seen, tenants, looked, True
        if looked >= SCAN_BUDGET:
            return seen, tenants, looked, False


def _has_state(feature: str, seen: dict[str, int]) -> bool:
    """Rate features keep two counters, ``<name>_<top>`` and ``<name>_<bottom>``."""
    return any(name == feature or name.startswith(f"{feature}_") for name in seen)


def check_features(ctx: CheckContext) -> Outcome:
    h = handle(ctx)
    try:
        seen, tenants, looked, finished = _sample_keys(h)
    except CheckAbort:
        raise
    except Exception as exc:  # noqa: BLE001
        return failed(f"{h.where}: SCAN failed: {exc}", "see the Redis error above")
    scope = "all" if finished else f"a sample of {looked}"
    if not seen:
        reason = f"no feature keys (<scope>/<tenant>/<feature>/<id>) in {scope} keys"
        if ctx.done("upload"):
            return failed(f"{reason} although --done says {ctx.options.done} has run", "look at the upload job's logs")
        return warned(f"{reason}: not there yet, run the upload step first")
    expected = _expected_features(ctx)
    missing = [f for f in expected if not _has_state(f, seen)]
    summary = f"{sum(seen.values())} feature keys in {scope} keys, tenants: {', '.join(sorted(tenants))}"
    if missing:
        return warned(
            f"{summary}; no keys for: {', '.join(missing)}",
            "features without events in the bootstrap data have no state; otherwise re-run upload",
        )
    return passed(f"{summary}; every stateful feature has keys")


def _mib(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MiB"


def check_memory(ctx: CheckContext) -> Outcome:
    h = handle(ctx)
    info = _info(h, "memory")
    used = int(info.get("used_memory", 0))
    limit = int(info.get("maxmemory", 0))
    if limit <= 0:
        return warned(
            f"used {_mib(used)}, no maxmemory limit: headroom unknown, Redis may be OOM-killed instead of refusing writes",
            "set maxmemory below the memory limit of the Redis host/container",
        )
    share = used / limit
    reason = f"used {_mib(used)} of maxmemory {_mib(limit)} ({share:.0%})"
    if share >= 0.9:
        return failed(f"{reason}: with noeviction, writes fail at the limit", "raise maxmemory or move to a bigger instance")
    if share >= 0.75:
        return warned(f"{reason}: little headroom for new items and users", "plan more memory")
    return passed(reason)


def checks() -> list[Check]:
    return [
        Check("redis.connect", check_connect),
        Check("redis.eviction", check_eviction),
        Check("redis.persistence", check_persistence),
        Check("redis.features", check_features),
        Check("redis.memory", check_memory),
    ]
