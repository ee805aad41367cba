"""CLI conventions of helm and kubectl (issue 18, item 5): the namespace default, ``-h``, shell
completion, ``render`` to stdout, ``--format json`` for gen, plan and upgrade-values.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer
import yaml
from typer.testing import CliRunner

from ranker_values.cli import app
from ranker_values.errors import UsageError
from ranker_values.kube.kubeconfig import DEFAULT_NAMESPACE, ENV_NAMESPACE, resolve_namespace
from support import ENV_VALUES, REPO, require_chart
from test_upgrade_values import s3  # noqa: F401 - moto's S3 server, a module fixture
from test_upgrade_values import values as upgrade_values_file

EXAMPLE = REPO / "examples" / "config.yml"
CHART = REPO / "charts" / "ranker"
RV = Path(sys.executable).with_name("ranker-values")


def invoke(*args, env: dict | None = None):
    result = CliRunner().invoke(app, [str(a) for a in args], env=env)
    assert "Traceback" not in result.output
    return result


def kubeconfig(path: Path, current: str | None, contexts: dict[str, str | None]) -> Path:
    """A kubeconfig whose contexts have the given namespaces (None: no namespace key)."""
    doc: dict = {"apiVersion": "v1", "kind": "Config", "clusters": [], "users": [], "contexts": [
        {"name": name, "context": {"cluster": "c", "user": "u", **({"namespace": ns} if ns is not None else {})}}
        for name, ns in contexts.items()
    ]}
    if current is not None:
        doc["current-context"] = current
    path.write_text(yaml.safe_dump(doc))
    return path


@pytest.fixture
def kube_env(tmp_path, monkeypatch):
    """KUBECONFIG → a file whose current context's namespace is 'from-context'; no RANKER_NAMESPACE."""
    path = kubeconfig(tmp_path / "kubeconfig", "ctx", {"ctx": "from-context", "other": "other-ns"})
    monkeypatch.setenv("KUBECONFIG", str(path))
    monkeypatch.delenv(ENV_NAMESPACE, raising=False)
    return path


# --- --namespace: flag > $RANKER_NAMESPACE > kubeconfig context > default ---------------------


def test_namespace_precedence(kube_env, tmp_path):
    env = {"KUBECONFIG": str(kube_env)}
    assert resolve_namespace("flag", environ={**env, ENV_NAMESPACE: "env"}).name == "flag"
    assert resolve_namespace(None, environ={**env, ENV_NAMESPACE: "env"}).name == "env"
    assert resolve_namespace(None, environ={**env, ENV_NAMESPACE: ""}).name == "from-context"  # empty = unset
    found = resolve_namespace(None, environ=env)
    assert (found.name, found.source) == ("from-context", f"kubeconfig context 'ctx' ({kube_env})")
    assert resolve_namespace(None, "other", environ=env).name == "other-ns"  # --kube-context's namespace
    assert resolve_namespace(None, "missing", environ=env).name == DEFAULT_NAMESPACE
    bare = kubeconfig(tmp_path / "bare", "ctx", {"ctx": None})
    assert resolve_namespace(None, environ={"KUBECONFIG": str(bare)}).name == DEFAULT_NAMESPACE
    assert resolve_namespace(None, environ={"KUBECONFIG": str(tmp_path / "absent")}).name == DEFAULT_NAMESPACE
    assert resolve_namespace(None, environ={"HOME": str(tmp_path)}).name == DEFAULT_NAMESPACE  # no ~/.kube/config


def test_kubeconfig_files_merge_like_kubectl(tmp_path):
    """The first file that sets current-context wins; the first file that defines a context wins."""
    first = kubeconfig(tmp_path / "a", None, {"ctx": "from-a"})
    second = kubeconfig(tmp_path / "b", "ctx", {"ctx": "from-b", "b-only": "b"})
    third = kubeconfig(tmp_path / "c", "b-only", {})
    paths = os.pathsep.join(map(str, [tmp_path / "missing", first, second, third]))
    assert resolve_namespace(None, environ={"KUBECONFIG": paths}).name == "from-a"
    paths = os.pathsep.join(map(str, [third, second]))
    assert resolve_namespace(None, environ={"KUBECONFIG": paths}).name == "b"


@pytest.mark.parametrize(
    "text, message",
    [
        ("contexts: [\n", "not valid YAML"),
        ("- a\n- b\n", "not a kubeconfig file"),
        ("contexts: {a: 1}\n", "'contexts' is not a list"),
        ("current-context: c\ncontexts: [{name: c, context: {namespace: Bad_NS}}]\n", "namespace 'Bad_NS': a namespace is"),
        ("current-context: c\ncontexts: [{name: c, context: {namespace: 7}}]\n", "namespace must be a string"),
    ],
)
def test_a_broken_kubeconfig_is_a_usage_error_naming_it(tmp_path, text, message):
    path = tmp_path / "kubeconfig"
    path.write_text(text)
    with pytest.raises(UsageError, match=message) as caught:
        resolve_namespace(None, environ={"KUBECONFIG": str(path)})
    assert str(path) in caught.value.message
    assert resolve_namespace("given", environ={"KUBECONFIG": str(path)}).name == "given"  # never read then


def test_a_fifo_kubeconfig_is_refused_not_read(tmp_path):
    fifo = tmp_path / "kubeconfig"
    os.mkfifo(fifo)
    with pytest.raises(UsageError, match="FIFO"):
        resolve_namespace(None, environ={"KUBECONFIG": str(fifo)})


def test_a_bad_namespace_from_the_environment_names_the_variable():
    with pytest.raises(UsageError, match=f"{ENV_NAMESPACE} 'No': a namespace"):
        resolve_namespace(None, environ={ENV_NAMESPACE: "No"})


def _commands(group, path=()):
    import click  # noqa: F401 - typer's click objects below

    for name, command in sorted(group.commands.items()):
        if hasattr(command, "commands"):
            yield from _commands(command, (*path, name))
        else:
            yield (*path, name), command


def click_app():
    return typer.main.get_command(app)


def test_every_namespace_option_defaults_through_the_resolver():
    """No command keeps a hard-wired "default": the option is unset unless given (then resolved)."""
    taking = []
    for path, command in _commands(click_app()):
        for param in command.params:
            if param.name == "namespace":
                taking.append(" ".join(path))
                assert param.default is None, path
                assert ENV_NAMESPACE in (param.help or ""), path
                assert "-n" in param.opts and "--namespace" in param.opts, path
    assert sorted(taking) == sorted(
        ["check", "plan", "render", "savepoint latest", "savepoint trigger", "status", "upgrade-values"]
    )


def _snapshot_objects(tmp_path: Path) -> Path:
    from test_savepoint_cluster import SNAPSHOT_MODE, objects_file

    return objects_file(tmp_path, SNAPSHOT_MODE, with_crd=True)  # the release lives in 'ranking'


def test_savepoint_latest_finds_the_release_in_the_context_namespace(kube_env, tmp_path, monkeypatch):
    objects = _snapshot_objects(tmp_path)
    args = ("savepoint", "latest", "--objects", objects, "--release", "ranker", "--source", "cluster", "--no-verify")
    wrong = invoke(*args)
    assert wrong.exit_code == 1 and "namespace 'from-context'" in wrong.stderr, wrong.output
    kubeconfig(kube_env, "ctx", {"ctx": "ranking"})
    assert invoke(*args).exit_code == 0
    monkeypatch.setenv(ENV_NAMESPACE, "elsewhere")
    assert "namespace 'elsewhere'" in invoke(*args).stderr
    assert invoke(*args, "-n", "ranking").exit_code == 0  # the flag beats the variable


def test_status_reads_the_env_override(kube_env, tmp_path, monkeypatch):
    objects = _snapshot_objects(tmp_path)
    monkeypatch.setenv(ENV_NAMESPACE, "Not_A_Namespace")
    result = invoke("status", "--objects", objects, "--release", "ranker")
    assert result.exit_code == 2
    assert f"{ENV_NAMESPACE} 'Not_A_Namespace': a namespace" in result.stderr


# --- -h -------------------------------------------------------------------------------------


def test_dash_h_is_help_on_the_app_and_every_command():
    paths = [()] + [path for path, _ in _commands(click_app())] + [("savepoint",)]
    assert len(paths) > 10
    for path in paths:
        short, long = invoke(*path, "-h"), invoke(*path, "--help")
        assert short.exit_code == 0, (path, short.output)
        assert "Usage:" in short.output and short.output == long.output, path


# --- completion -----------------------------------------------------------------------------


def test_completion_refuses_an_unknown_shell():
    result = invoke("completion", "tcsh")
    assert result.exit_code == 2 and "tcsh" in result.output


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish", "powershell"])
def test_completion_prints_a_script_for_each_shell(shell):
    result = invoke("completion", shell)
    assert result.exit_code == 0
    assert "_RANKER_VALUES_COMPLETE" in result.stdout and "ranker-values" in result.stdout


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_bash_completes_commands_subcommands_options_and_choices(tmp_path):
    """The printed script, sourced in a real bash, asks the real entry point."""
    assert RV.exists(), f"{RV}: pip install -e . first"
    script = tmp_path / "rv.bash"
    script.write_text(subprocess.run([RV, "completion", "bash"], capture_output=True, text=True, check=True).stdout)
    probe = f"""
source {script}
ask() {{ COMP_WORDS=("$@"); COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 )); _ranker_values_completion ranker-values; echo "${{COMPREPLY[*]}}"; }}
ask ranker-values sav
ask ranker-values savepoint ''
ask ranker-values plan --form
ask ranker-values completion ''
"""
    env = {**os.environ, "PATH": f"{RV.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    out = subprocess.run(["bash", "--norc", "-c", probe], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["savepoint", "latest trigger", "--format", "bash zsh fish powershell"]


# --- render: stdout by default ----------------------------------------------------------------


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("generated")
    result = CliRunner().invoke(app, ["gen", str(EXAMPLE), "--env-file", str(ENV_VALUES["prod"]), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def test_render_streams_the_manifests_to_stdout_in_the_context_namespace(generated, kube_env, tmp_path):
    require_chart()
    result = invoke("render", "--chart", CHART, "-f", ENV_VALUES["dev"], "-f", generated / "update.yaml")
    assert result.exit_code == 0, result.output
    objects = [d for d in yaml.safe_load_all(result.stdout) if d]
    assert f"rendered {len(objects)} objects" in result.stderr and "valid against" in result.stderr
    assert result.stdout.startswith("---\n# Source: ")
    subjects = [s for o in objects if o["kind"] == "RoleBinding" for s in o.get("subjects", [])]
    assert subjects and {s["namespace"] for s in subjects} == {"from-context"}
    out = tmp_path / "m.yaml"  # --out keeps the file and the summary on stdout
    to_file = invoke("render", "--chart", CHART, "-f", ENV_VALUES["dev"], "-f", generated / "update.yaml", "-n", "x", "--out", out)
    assert to_file.exit_code == 0 and f"-> {out}" in to_file.stdout and "valid against" in to_file.stdout
    assert "namespace: x" in out.read_text() and "namespace: x" not in result.stdout


def test_render_prints_nothing_when_an_object_is_invalid(generated, tmp_path):
    require_chart()
    crds = tmp_path / "crds"  # a FlinkDeployment CRD that requires a field no render has
    crds.mkdir()
    (crds / "flinkdeployment.yaml").write_text(yaml.safe_dump({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "flinkdeployments.flink.apache.org"},
        "spec": {"group": "flink.apache.org", "scope": "Namespaced",
                 "names": {"kind": "FlinkDeployment", "plural": "flinkdeployments", "singular": "flinkdeployment"},
                 "versions": [{"name": "v1beta1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {
                     "type": "object", "required": ["nowhere"], "properties": {"nowhere": {"type": "string"}}}}}]},
    }))
    result = invoke("render", "--chart", CHART, "-f", ENV_VALUES["dev"], "-f", generated / "update.yaml", "--crds", crds, "-n", "r")
    assert result.exit_code == 1, result.output
    assert "nowhere" in result.stderr and "INVALID" in result.stderr
    assert result.stdout == ""
    assert "nothing printed" in result.stderr


def test_render_refuses_stdout_onto_one_of_its_inputs(generated, tmp_path):
    require_chart()
    values = tmp_path / "values.yaml"
    values.write_bytes((generated / "update.yaml").read_bytes())
    before = values.read_bytes()
    with values.open("r+b") as stdout:  # like `> values.yaml`, without the shell emptying it first
        proc = subprocess.run([RV, "render", "--chart", CHART, "-f", ENV_VALUES["dev"], "-f", values, "-n", "r"],
                              stdout=stdout, stderr=subprocess.PIPE, text=True, cwd=REPO, timeout=300)
    assert proc.returncode == 2, proc.stderr
    assert "stdout is redirected to one of this command's input files" in proc.stderr
    assert values.read_bytes() == before


# --- --format json ----------------------------------------------------------------------------

ENVELOPE = ["command", "version", "ok", "exit_code", "error", "diagnostics"]


def document(result) -> dict:
    doc = json.loads(result.stdout)
    assert list(doc)[: len(ENVELOPE)] == ENVELOPE
    assert doc["exit_code"] == result.exit_code and doc["ok"] == (result.exit_code == 0)
    return doc


def test_gen_json_lists_what_it_wrote(tmp_path):
    result = invoke("gen", EXAMPLE, "--out", tmp_path / "out", "--format", "json")
    assert result.exit_code == 0, result.output
    doc = document(result)
    assert set(doc) == {*ENVELOPE, "config", "env", "out", "written"}
    assert [w["step"] for w in doc["written"]] == ["bootstrap", "train", "upload", "api", "update"]
    assert all(Path(w["path"]).is_file() for w in doc["written"]) and doc["error"] is None
    assert result.stderr == ""


def test_gen_json_reports_an_invalid_config_with_positions(tmp_path, write_file):
    config = write_file(EXAMPLE.read_text().replace("workdir:", "wrokdir:", 1))
    result = invoke("gen", config, "--out", tmp_path / "out", "--format", "json")
    assert result.exit_code == 1
    doc = document(result)
    assert doc["written"] == [] and doc["error"] == f"{config}: nothing generated"
    first = doc["diagnostics"][0]
    assert (first["code"], first["path"], first["file"]) == ("RV010", "$.bootstrap.wrokdir", str(config))
    assert first["line"] and first["col"]
    assert "RV010" in result.stderr  # the text report stays on stderr
    assert not (tmp_path / "out").exists()


def test_gen_json_usage_error_exits_2_with_the_message(tmp_path):
    result = invoke("gen", tmp_path / "missing.yml", "--format", "json")
    assert result.exit_code == 2
    assert document(result)["error"] == f"{tmp_path / 'missing.yml'}: no such file"
    assert "no such file" in result.stderr


def _plan(tmp_path, new: dict, *extra):
    from test_plan import BASE, overlay

    require_chart()
    args = ["plan", overlay(tmp_path, "old", {}), overlay(tmp_path, "new", new), "--chart", CHART, "-n", "ranking"]
    for base in BASE:
        args += ["-f", base]
    return invoke(*args, "--format", "json", *extra)


def test_plan_json_has_the_jobs_changes_and_dangers(tmp_path):
    result = _plan(tmp_path, {"image": {"tag": "0.4.2"}})
    assert result.exit_code == 1
    doc = document(result)
    assert set(doc) == {*ENVELOPE, "old", "new", "jobs", "objects", "dangers", "undeclared"}
    update = next(j for j in doc["jobs"] if j["ref"].endswith("(update)"))
    assert update["action"] == "upgrade" and update["danger"] is None
    assert {"type": "UPGRADE", "path": "image", "old": update["changes"][0]["old"], "new": update["changes"][0]["new"]} in update["changes"]
    assert "bootstrap-rerun" in doc["undeclared"]
    assert {d["name"] for d in doc["dangers"]} >= {"bootstrap-rerun"} and not any(d["intended"] for d in doc["dangers"])
    assert doc["error"].startswith("dangerous change(s) not declared: pass --intended ")
    declared = _plan(tmp_path, {"image": {"tag": "0.4.2"}}, "--intended", ",".join(doc["undeclared"]))
    assert declared.exit_code == 0, declared.output
    assert document(declared)["undeclared"] == [] and all(d["intended"] for d in document(declared)["dangers"])


def test_plan_json_usage_error(tmp_path):
    result = _plan(tmp_path, {}, "--intended", "everything")
    assert result.exit_code == 2
    doc = document(result)
    assert doc["error"].startswith("--intended: unknown everything") and doc["jobs"] == []


def test_upgrade_values_json_has_the_pinned_values(s3, tmp_path):
    from test_savepoint_cluster import SNAPSHOT_MODE, objects_file

    objects = objects_file(tmp_path, SNAPSHOT_MODE, with_crd=True)
    deployed = upgrade_values_file(tmp_path, s3.endpoint, update={"savepointRedeployNonce": 0})
    out = tmp_path / "upgrade.yaml"
    result = invoke("upgrade-values", "-f", deployed, "--objects", objects, "--release", "ranker", "-n", "ranking",
                    "--out", out, "--format", "json")
    assert result.exit_code == 0, result.output
    doc = document(result)
    assert set(doc) == {*ENVELOPE, "mode", "written", "starts_from", "notes", "values"}
    assert doc["mode"] == "normal" and doc["written"] == str(out)
    assert doc["values"] == yaml.safe_load(out.read_text())  # what the file pins
    assert doc["values"]["stages"]["update"]["savepointRedeployNonce"] == 1  # the live value
    assert doc["starts_from"] and isinstance(doc["notes"], list)
    assert result.stderr == ""


def test_upgrade_values_json_usage_error(tmp_path):
    out = tmp_path / "dir"
    out.mkdir()
    result = invoke("upgrade-values", "--out", out, "--allow-empty-state", "--format", "json")
    assert result.exit_code == 2
    doc = document(result)
    assert set(doc) == {*ENVELOPE, "mode", "written", "starts_from", "notes", "values"}
    assert doc["written"] is None and doc["values"] is None and f"{out}: is a directory" in doc["error"]
    assert f"{out}: is a directory" in result.stderr
