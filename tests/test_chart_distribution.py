"""The chart as a distributed artifact (issue 18, item 1): `helm package`, pushed to a real OCI
registry and pulled back, and signed with a provenance file that `helm verify`, `helm pull
--verify` and `helm install --verify` check.

The registry is the CNCF distribution registry (``scripts/tools.sh`` builds it from its Go module
into ``$RANKER_TOOLS_DIR/bin/registry``), on 127.0.0.1 over plain HTTP with htpasswd basic auth, so
every CLI logs in with ``helm registry login`` first. Every Helm CLI the repository tests (3.18,
the latest 3.x, the latest 4.x) pushes and pulls. The signing key is a throwaway RSA key made with
Debian's ``gpg`` in a temporary GNUPGHOME and exported as the legacy keyrings Helm reads.

What each CLI does, measured here (README "Verifying the chart's provenance"):

- every CLI pushes the ``.prov`` lying next to the ``.tgz`` as a second layer
  (``application/vnd.cncf.helm.chart.provenance.v1.prov``);
- Helm 3.22 and 4.3 pull that back with ``--verify`` and refuse a tampered chart;
- Helm 3.18.0 cannot pull *any* chart that carries a provenance layer, with or without
  ``--verify`` (helm/helm#30890, fixed in 3.18.1): a test pins the failure so it is noticed
  when the pin moves;
- ``helm install --dry-run=client`` needs a reachable cluster with every Helm 3 (any chart), so
  Helm 3 is checked with ``helm template`` from ``oci://`` and Helm 4 with both.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import time
import urllib.error
import urllib.request
import warnings
from base64 import b64encode
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from support import CHART, REPO, missing, require_chart
from support.cli import NAMESPACE, RELEASE
from support.net import free_port
from support.tools import HELM_CLIS, tool, tool_env

VERSION = yaml.safe_load((CHART / "Chart.yaml").read_text(encoding="utf-8"))["version"]
PACKAGE = f"ranker-{VERSION}.tgz"
FIXTURES = CHART / "tests" / "values" / "generated"
PROD = REPO / "values" / "prod.yaml"
USER, PASSWORD = "ranker-ci", "not-a-secret-3f9a"
SIGNER = "Ranker Test Signer"
ED_SIGNER = "Edwards Test Signer"
PROV_MEDIA_TYPE = "application/vnd.cncf.helm.chart.provenance.v1.prov"
CHART_MEDIA_TYPE = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
# Helm 3.18.0's pull refuses a manifest with a provenance layer (helm/helm#30890, fixed in 3.18.1).
HELM_3_18_PROV_BUG = f'media type "{PROV_MEDIA_TYPE}" is not allowed'
VERIFYING_CLIS = ("helm3", "helm4")  # the CLIs that pull a signed chart from OCI


@pytest.fixture(autouse=True, scope="module")
def _chart_exists():
    require_chart()


def _system_tool(name: str, package: str) -> str:
    """A program from the system (Debian), skipped locally and a failure under CI when missing."""
    found = shutil.which(name)
    if found:
        return found
    missing(f"{name} is missing: install it (Debian: apt-get install {package}; scripts/setup.sh test does)")


def _htpasswd_line(user: str, password: str) -> str:
    """A bcrypt htpasswd entry (the only hash the registry accepts), from libcrypt."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            import crypt  # Python 3.11/3.12 (the repository's venv is 3.11)
        except ImportError:  # pragma: no cover - Python 3.13 dropped it
            crypt = None
    if crypt is None or crypt.METHOD_BLOWFISH not in crypt.methods:
        missing("no bcrypt in this Python's crypt module: cannot write the registry's htpasswd")
    # cost 4 (rounds=16), bcrypt's minimum: the registry checks the hash on every request
    return f"{user}:{crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16))}\n"


@dataclass
class Registry:
    host: str  # 127.0.0.1:PORT
    log: Path

    def ref(self, repo: str) -> str:
        return f"oci://{self.host}/{repo}"

    def api(self, path: str, accept: str = "application/vnd.oci.image.manifest.v1+json") -> bytes:
        request = urllib.request.Request(f"http://{self.host}/v2/{path}", headers={
            "Accept": accept, "Authorization": "Basic " + b64encode(f"{USER}:{PASSWORD}".encode()).decode()})
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.read()

    def manifest(self, repo: str, tag: str = VERSION) -> dict:
        return json.loads(self.api(f"{repo}/manifests/{tag}"))


@pytest.fixture(scope="module")
def registry(tmp_path_factory) -> Registry:
    """The distribution registry on a free 127.0.0.1 port, temp storage, htpasswd auth."""
    binary = tool("registry")
    home = tmp_path_factory.mktemp("registry")
    (home / "htpasswd").write_text(_htpasswd_line(USER, PASSWORD), encoding="utf-8")
    port = free_port()
    config = {
        "version": 0.1,
        "log": {"level": "warn", "accesslog": {"disabled": True}},
        "storage": {"filesystem": {"rootdirectory": str(home / "storage")}, "delete": {"enabled": True}},
        "http": {"addr": f"127.0.0.1:{port}", "secret": "test-only-upload-secret"},
        "auth": {"htpasswd": {"realm": "ranker-test", "path": str(home / "htpasswd")}},
    }
    (home / "config.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    log = home / "registry.log"
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "OTEL_TRACES_EXPORTER": "none"}
    with log.open("wb") as out:
        process = subprocess.Popen([str(binary), "serve", str(home / "config.yml")], stdout=out,
                                   stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=2)
            except urllib.error.HTTPError as exc:
                assert exc.code == 401, exc  # up, and asking for credentials
                break
            except OSError:
                assert process.poll() is None, log.read_text(errors="replace")
                assert time.monotonic() < deadline, "the registry did not answer in 30 s:\n" + log.read_text(errors="replace")
                time.sleep(0.1)
        yield Registry(f"127.0.0.1:{port}", log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class Keys:
    secring: Path  # legacy secret keyring (gpg --export-secret-keys), for helm package --sign
    pubring: Path  # public keyring, for helm verify / --verify
    other_pubring: Path  # a different key: verification against it must fail
    fingerprint: str


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> Keys:
    gpg = _system_tool("gpg", "gpg")
    home = tmp_path_factory.mktemp("gnupg")
    home.chmod(0o700)
    env = {**os.environ, "GNUPGHOME": str(home)}

    def run(*args: str, **kwargs) -> subprocess.CompletedProcess[bytes]:
        done = subprocess.run([gpg, "--batch", "--quiet", *args], env=env, capture_output=True, timeout=120, **kwargs)
        assert done.returncode == 0, done.stderr.decode(errors="replace")
        return done

    try:
        # RSA: Helm 3.18.0's OpenPGP code has no EdDSA (test_ed25519_keys_need_helm_3_22_or_4).
        for name, algo in ((SIGNER, "rsa2048"), ("Someone Else", "rsa2048"), (ED_SIGNER, "ed25519")):
            run("--pinentry-mode", "loopback", "--passphrase", "", "--quick-gen-key",
                f"{name} <{name.split()[0].lower()}@ranker.invalid>", algo, "sign", "never")
        secring, pubring, other = home / "secring.gpg", home / "pubring-signer.gpg", home / "pubring-other.gpg"
        secring.write_bytes(run("--export-secret-keys", SIGNER).stdout)
        pubring.write_bytes(run("--export", SIGNER).stdout)
        other.write_bytes(run("--export", "Someone Else").stdout)
        (home / "secring-ed.gpg").write_bytes(run("--export-secret-keys", ED_SIGNER).stdout)
        (home / "pubring-ed.gpg").write_bytes(run("--export", ED_SIGNER).stdout)
        listing = run("--with-colons", "--fingerprint", SIGNER).stdout.decode()
        fingerprint = next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:"))
        yield Keys(secring, pubring, other, fingerprint)
    finally:
        subprocess.run(["gpgconf", "--kill", "gpg-agent"], env=env, capture_output=True, timeout=30, check=False)


class Helm:
    """One Helm CLI with its own HOME, caches and registry config (never the user's)."""

    def __init__(self, cli: str, home: Path, registry: Registry | None = None) -> None:
        self.cli = cli
        self.binary = tool(cli)
        self.home = home
        home.mkdir(parents=True, exist_ok=True)
        self.env = tool_env()
        for key, sub in (("HOME", "home"), ("HELM_CACHE_HOME", "cache"), ("HELM_CONFIG_HOME", "config"),
                         ("HELM_DATA_HOME", "data")):
            self.env[key] = str(home / sub)
        self.env["HELM_REGISTRY_CONFIG"] = str(home / "registry.json")
        if registry is not None:
            done = self("registry", "login", registry.host, "--username", USER, "--password-stdin", "--plain-http",
                        stdin=PASSWORD)
            assert done.returncode == 0 and "Login Succeeded" in done.stdout + done.stderr, done.stderr

    def __call__(self, *args: str, cwd: Path | None = None, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(self.binary), *args], cwd=cwd or self.home, env=self.env, input=stdin,
                              capture_output=True, text=True, timeout=180, check=False)

    def ok(self, *args: str, **kwargs) -> subprocess.CompletedProcess[str]:
        done = self(*args, **kwargs)
        assert done.returncode == 0, f"{self.cli} {' '.join(args)}:\n{done.stderr}"
        return done

    def package(self, out: Path, keys: Keys | None = None) -> Path:
        out.mkdir(parents=True, exist_ok=True)
        sign = ["--sign", "--key", SIGNER, "--keyring", str(keys.secring)] if keys else []
        self.ok("package", str(CHART), "-d", str(out), *sign)
        return out / PACKAGE


@pytest.fixture(scope="module")
def helms(registry, tmp_path_factory) -> dict[str, Helm]:
    """Every Helm CLI, logged in to the registry with `helm registry login`."""
    return {cli: Helm(cli, tmp_path_factory.mktemp(cli), registry) for cli in HELM_CLIS}


def sha256(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def tampered_copy(package: Path, out: Path) -> Path:
    """The same chart with one default changed in values.yaml: still a valid chart, other bytes."""
    out.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    with tarfile.open(package, "r:gz") as source, tarfile.open(fileobj=buffer, mode="w") as target:
        for member in source.getmembers():
            data = source.extractfile(member).read() if member.isfile() else None
            if member.name == "ranker/values.yaml":
                changed = data.replace(b"repository: metarank/metarank", b"repository: attacker/metarank", 1)
                assert changed != data
                data = changed
                member.size = len(data)
            target.addfile(member, io.BytesIO(data) if data is not None else None)
    (out / package.name).write_bytes(gzip.compress(buffer.getvalue()))
    return out / package.name


def template_args() -> list[str]:
    return ["-n", NAMESPACE, "-f", str(PROD), "-f", str(FIXTURES / "api.yaml")]


# --- push, pull, template, install from oci:// -------------------------------------------------


@pytest.fixture(scope="module")
def pushed(helms, registry, tmp_path_factory) -> dict[str, Path]:
    """An unsigned package per CLI, pushed by that CLI to oci://HOST/<cli>/charts/ranker."""
    packages = {}
    for cli, helm in helms.items():
        package = helm.package(tmp_path_factory.mktemp(f"package-{cli}"))
        done = helm.ok("push", str(package), registry.ref(f"{cli}/charts"), "--plain-http")
        # Helm 3 prints Pushed/Digest on stderr, Helm 4 on stdout
        assert f"Pushed: {registry.host}/{cli}/charts/ranker:{VERSION}" in done.stdout + done.stderr
        packages[cli] = package
    return packages


def test_the_registry_refuses_anonymous_clients_and_a_wrong_password(registry, tmp_path):
    for cli in HELM_CLIS:
        helm = Helm(cli, tmp_path / cli)  # not logged in
        package = helm.package(tmp_path / f"{cli}-package")
        push = helm("push", str(package), registry.ref("anonymous/charts"), "--plain-http")
        assert push.returncode != 0 and "basic credential not found" in push.stderr, push.stderr
        login = helm("registry", "login", registry.host, "--username", USER, "--password-stdin", "--plain-http",
                     stdin="wrong-password")
        assert login.returncode != 0 and "401" in login.stderr, login.stderr
        assert not (tmp_path / cli / "registry.json").exists() or USER not in (tmp_path / cli / "registry.json").read_text()


@pytest.mark.parametrize("pusher", HELM_CLIS)
def test_the_pushed_layer_is_the_packaged_tgz(pushed, registry, pusher):
    manifest = registry.manifest(f"{pusher}/charts/ranker")
    (layer,) = manifest["layers"]  # unsigned: the chart only
    assert layer["mediaType"] == CHART_MEDIA_TYPE
    assert layer["digest"] == sha256(pushed[pusher])
    assert layer["size"] == pushed[pusher].stat().st_size
    blob = registry.api(f"{pusher}/charts/ranker/blobs/{layer['digest']}", accept="*/*")
    assert blob == pushed[pusher].read_bytes()


@pytest.mark.parametrize("puller", HELM_CLIS)
@pytest.mark.parametrize("pusher", HELM_CLIS)
def test_pull_from_oci_is_byte_identical_to_the_package(pushed, helms, registry, pusher, puller, tmp_path):
    helms[puller].ok("pull", registry.ref(f"{pusher}/charts/ranker"), "--version", VERSION, "--plain-http",
                     "-d", str(tmp_path))
    assert sorted(p.name for p in tmp_path.iterdir()) == [PACKAGE]
    assert (tmp_path / PACKAGE).read_bytes() == pushed[pusher].read_bytes()


@pytest.mark.parametrize("cli", HELM_CLIS)
def test_template_from_oci_equals_template_of_the_package(pushed, helms, registry, cli):
    helm = helms[cli]
    local = helm.ok("template", RELEASE, str(pushed[cli]), *template_args())
    remote = helm.ok("template", RELEASE, registry.ref(f"{cli}/charts/ranker"), "--version", VERSION,
                     "--plain-http", *template_args())
    assert remote.stdout == local.stdout
    assert f"name: {RELEASE}-api" in remote.stdout


def test_helm4_installs_from_oci_dry_run(pushed, helms, registry):
    done = helms["helm4"].ok("install", RELEASE, registry.ref("helm4/charts/ranker"), "--version", VERSION,
                             "--plain-http", "--dry-run=client", *template_args())
    assert "STATUS: pending-install" in done.stdout
    assert "Reaching the api" in done.stdout.split("NOTES:", 1)[1]


@pytest.mark.parametrize("cli", ("helm3.18", "helm3"))
def test_helm3_install_dry_run_needs_a_cluster_even_client_side(pushed, cli, tmp_path):
    """Why Helm 3 is checked with `template`: its `install --dry-run=client` asks the API server
    for its version first (any chart), and there is no cluster here."""
    helm = Helm(cli, tmp_path)
    helm.env["KUBECONFIG"] = str(tmp_path / "no-kubeconfig")
    helm.env.pop("KUBERNETES_SERVICE_HOST", None)
    done = helm("install", RELEASE, str(pushed[cli]), "--dry-run=client", *template_args())
    assert done.returncode != 0 and "Kubernetes cluster unreachable" in done.stderr, done.stderr


# --- provenance: helm package --sign, verify, pull --verify, install --verify -----------------


@pytest.fixture(scope="module")
def signed(helms, keys, registry, tmp_path_factory) -> dict[str, Path]:
    """A signed package per CLI (.tgz + .prov), pushed by that CLI to oci://HOST/signed-<cli>/charts."""
    packages = {}
    for cli, helm in helms.items():
        package = helm.package(tmp_path_factory.mktemp(f"signed-{cli}"), keys)
        assert package.with_name(PACKAGE + ".prov").is_file()
        helm.ok("push", str(package), registry.ref(f"signed-{cli}/charts"), "--plain-http")
        packages[cli] = package
    return packages


@pytest.mark.parametrize("cli", HELM_CLIS)
def test_helm_verify_accepts_the_signed_package_and_names_the_signer(signed, helms, keys, cli):
    for signer_cli in HELM_CLIS:  # every CLI verifies every CLI's signature
        done = helms[cli].ok("verify", str(signed[signer_cli]), "--keyring", str(keys.pubring))
        text = done.stdout + done.stderr
        assert f"Signed by: {SIGNER}" in text and keys.fingerprint in text
        assert f"Chart Hash Verified: {sha256(signed[signer_cli])}" in text


@pytest.mark.parametrize("cli", HELM_CLIS)
def test_helm_verify_refuses_a_tampered_chart_and_a_foreign_key(signed, helms, keys, cli, tmp_path):
    helm = helms[cli]
    tampered = tampered_copy(signed[cli], tmp_path / "tampered")
    shutil.copy(signed[cli].with_name(PACKAGE + ".prov"), tampered.with_name(PACKAGE + ".prov"))
    done = helm("verify", str(tampered), "--keyring", str(keys.pubring))
    assert done.returncode != 0 and "sha256 sum does not match" in done.stderr, done.stderr
    foreign = helm("verify", str(signed[cli]), "--keyring", str(keys.other_pubring))
    assert foreign.returncode != 0, foreign.stdout
    missing = helm("verify", str(tmp_path / "nowhere" / PACKAGE), "--keyring", str(keys.pubring))
    assert missing.returncode != 0
    # helm install --verify from the tampered file is refused before anything renders
    install = helm("template", RELEASE, str(tampered), "--verify", "--keyring", str(keys.pubring), *template_args())
    assert install.returncode != 0 and "sha256 sum does not match" in install.stderr, install.stderr


@pytest.mark.parametrize("pusher", HELM_CLIS)
def test_every_cli_pushes_the_prov_next_to_the_tgz_as_a_layer(signed, registry, pusher):
    manifest = registry.manifest(f"signed-{pusher}/charts/ranker")
    layers = {layer["mediaType"]: layer["digest"] for layer in manifest["layers"]}
    prov = signed[pusher].with_name(PACKAGE + ".prov")
    assert layers == {CHART_MEDIA_TYPE: sha256(signed[pusher]), PROV_MEDIA_TYPE: sha256(prov)}


@pytest.mark.parametrize("puller", VERIFYING_CLIS)
@pytest.mark.parametrize("pusher", HELM_CLIS)
def test_pull_verify_from_oci(signed, helms, keys, registry, pusher, puller, tmp_path):
    done = helms[puller].ok("pull", registry.ref(f"signed-{pusher}/charts/ranker"), "--version", VERSION,
                            "--plain-http", "--verify", "--keyring", str(keys.pubring), "-d", str(tmp_path))
    assert f"Signed by: {SIGNER}" in done.stdout + done.stderr
    assert (tmp_path / PACKAGE).read_bytes() == signed[pusher].read_bytes()
    assert (tmp_path / (PACKAGE + ".prov")).read_bytes() == signed[pusher].with_name(PACKAGE + ".prov").read_bytes()
    foreign = helms[puller]("pull", registry.ref(f"signed-{pusher}/charts/ranker"), "--version", VERSION,
                            "--plain-http", "--verify", "--keyring", str(keys.other_pubring), "-d", str(tmp_path / "x"))
    assert foreign.returncode != 0


def test_install_and_template_verify_from_oci(signed, helms, keys, registry):
    ref = registry.ref("signed-helm4/charts/ranker")
    install = helms["helm4"].ok("install", RELEASE, ref, "--version", VERSION, "--plain-http", "--verify",
                                "--keyring", str(keys.pubring), "--dry-run=client", *template_args())
    assert "STATUS: pending-install" in install.stdout
    for cli in VERIFYING_CLIS:
        rendered = helms[cli].ok("template", RELEASE, registry.ref(f"signed-{cli}/charts/ranker"), "--version", VERSION,
                                 "--plain-http", "--verify", "--keyring", str(keys.pubring), *template_args())
        assert f"name: {RELEASE}-api" in rendered.stdout


@pytest.mark.parametrize("cli", VERIFYING_CLIS)
def test_a_tampered_chart_in_the_registry_fails_verification(signed, helms, keys, registry, cli, tmp_path):
    """The original .prov next to a tampered .tgz, pushed: the registry serves it, plain pull takes
    it, and every --verify (pull, template, install) refuses it."""
    helm = helms[cli]
    tampered = tampered_copy(signed[cli], tmp_path / "tampered")
    shutil.copy(signed[cli].with_name(PACKAGE + ".prov"), tampered.with_name(PACKAGE + ".prov"))
    helm.ok("push", str(tampered), registry.ref(f"tampered-{cli}/charts"), "--plain-http")
    ref = registry.ref(f"tampered-{cli}/charts/ranker")
    for sub in ("plain", "verified"):
        (tmp_path / sub).mkdir()
    plain = helm.ok("pull", ref, "--version", VERSION, "--plain-http", "-d", str(tmp_path / "plain"))
    assert (tmp_path / "plain" / PACKAGE).read_bytes() == tampered.read_bytes(), plain.stderr
    verified = helm("pull", ref, "--version", VERSION, "--plain-http", "--verify", "--keyring", str(keys.pubring),
                    "-d", str(tmp_path / "verified"))
    assert verified.returncode != 0 and "sha256 sum does not match" in verified.stderr, verified.stderr
    # Both CLIs write the .tgz (and .prov) before verifying and leave them there when it fails:
    # the exit code is the verdict, not the file (README "Verifying the chart's provenance").
    assert (tmp_path / "verified" / PACKAGE).read_bytes() == tampered.read_bytes()
    rendered = helm("template", RELEASE, ref, "--version", VERSION, "--plain-http", "--verify",
                    "--keyring", str(keys.pubring), *template_args())
    assert rendered.returncode != 0 and "sha256 sum does not match" in rendered.stderr, rendered.stderr
    if cli == "helm4":
        install = helm("install", RELEASE, ref, "--version", VERSION, "--plain-http", "--verify",
                       "--keyring", str(keys.pubring), "--dry-run=client", *template_args())
        assert install.returncode != 0 and "sha256 sum does not match" in install.stderr, install.stderr


@pytest.mark.parametrize("cli", VERIFYING_CLIS)
def test_pull_verify_of_an_unsigned_chart_fails(pushed, helms, keys, registry, cli, tmp_path):
    done = helms[cli]("pull", registry.ref(f"{cli}/charts/ranker"), "--version", VERSION, "--plain-http",
                      "--verify", "--keyring", str(keys.pubring), "-d", str(tmp_path))
    assert done.returncode != 0, done.stdout


def test_helm_3_18_0_cannot_pull_a_chart_with_a_provenance_layer(signed, pushed, helms, registry, tmp_path):
    """helm/helm#30890 (fixed in 3.18.1): 3.18.0 refuses the manifest's .prov layer, --verify or
    not. If this starts passing, the pinned 3.18 moved: update the README."""
    helm = helms["helm3.18"]
    for extra in ([], ["--verify", "--keyring", "/dev/null"]):
        done = helm("pull", registry.ref("signed-helm3/charts/ranker"), "--version", VERSION, "--plain-http",
                    "-d", str(tmp_path), *extra)
        assert done.returncode != 0 and HELM_3_18_PROV_BUG in done.stderr, done.stderr
    # the same CLI pulls the unsigned push of the same chart
    helm.ok("pull", registry.ref("helm3/charts/ranker"), "--version", VERSION, "--plain-http", "-d", str(tmp_path))


def test_ed25519_keys_need_helm_3_22_or_4(keys, tmp_path):
    """Helm 3.18.0 can neither sign with nor read an Ed25519 key; 3.22 and 4.3 sign and verify."""
    secring, pubring = keys.secring.with_name("secring-ed.gpg"), keys.secring.with_name("pubring-ed.gpg")
    for cli in HELM_CLIS:
        helm = Helm(cli, tmp_path / cli)
        done = helm("package", str(CHART), "-d", str(tmp_path / cli / "out"), "--sign", "--key", ED_SIGNER,
                    "--keyring", str(secring))
        if cli == "helm3.18":
            assert done.returncode != 0 and "unsupported feature: public key type: 22" in done.stderr, done.stderr
            continue
        assert done.returncode == 0, done.stderr
        package = tmp_path / cli / "out" / PACKAGE
        helm.ok("verify", str(package), "--keyring", str(pubring))
        old = Helm("helm3.18", tmp_path / f"{cli}-old")("verify", str(package), "--keyring", str(pubring))
        assert old.returncode != 0 and "unsupported feature: public key type: 22" in old.stderr, old.stderr
