"""The chart in the Helm CLIs its users run: Helm 3.18, the latest 3.x and 4.x (``scripts/tools.sh``).

For every lifecycle step × dev/prod × bundled Redis on/off (``examples/config.yml`` generated
with ``--env``, as users do): ``helm template`` renders and ``helm lint --strict`` passes with both
CLIs, from the repository as cloned (no ``helm dependency build``, no network). Render parity:
each CLI and the Helm SDK (``ranker-values render``) produce the same objects.
"""

from __future__ import annotations

import json
import re

import pytest

from support import require_chart
from support.cli import NAMESPACE, RELEASE, helm_lint, helm_template, template_objects, values_args
from support.matrix import CASES, EXAMPLE, Case, case_params
from support.render import render
from support.tools import HELM_CLIS, run_tool

# examples/config.yml × {dev, prod} × 5 steps × redis on/off: what a user renders.
CLI_CASES: list[Case] = [c for c in CASES if c.config == EXAMPLE]


@pytest.fixture(autouse=True, scope="module")
def _chart_exists():
    require_chart()


@pytest.mark.parametrize("cli, major", [("helm3.18", "v3.18."), ("helm3", "v3."), ("helm4", "v4.")])
def test_helm_clis_report_their_own_major_version(cli: str, major: str):
    """The version ldflags are set (without them `helm version` and the default KubeVersion lie)."""
    done = run_tool(cli, "version", "--short")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(major), done.stdout


@pytest.mark.parametrize("cli", HELM_CLIS)
def test_lint_strict_passes_on_the_chart_as_shipped(cli: str):
    """`helm lint --strict charts/ranker` with the chart's own defaults: no missing dependency."""
    done = helm_lint(cli, None)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 chart(s) linted, 0 chart(s) failed" in done.stdout, done.stdout


@pytest.mark.parametrize("cli", HELM_CLIS)
@pytest.mark.parametrize("case", case_params(CLI_CASES))
def test_helm_template_renders_every_step(cli: str, case: Case):
    done = helm_template(cli, case)
    assert done.returncode == 0, f"{cli} template failed:\n{done.stderr}"
    kinds = {o["kind"] for o in template_objects(cli, case)}
    assert "ConfigMap" in kinds, kinds


@pytest.mark.parametrize("cli", HELM_CLIS)
@pytest.mark.parametrize("case", case_params(CLI_CASES))
def test_helm_lint_strict_passes_for_every_step(cli: str, case: Case):
    done = helm_lint(cli, case)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "[WARNING]" not in done.stdout and "[ERROR]" not in done.stdout, done.stdout


def _canonical(objects: list[dict]) -> list[str]:
    return sorted(json.dumps(o, sort_keys=True) for o in objects)


# Parity over every generated config (the example and the shared Metarank configs), step, env and
# Redis switch: Helm 3.18 differs from the others exactly where a template tests a number's truth.
PARITY_CASES: list[Case] = [c for c in CASES if c.config != "handwritten"]


@pytest.mark.parametrize("case", case_params(PARITY_CASES))
def test_helm3_helm4_and_the_sdk_render_the_same_objects(case: Case):
    """Render parity per step: Helm 3.18, 3.x, 4.x and the SDK (what `ranker-values render` uses)."""
    sdk = _canonical(render(case.values_files(), case.overrides, release=RELEASE, namespace=NAMESPACE))
    for cli in HELM_CLIS:
        objects = _canonical(template_objects(cli, case))
        missing = [o[:160] for o in sdk if o not in objects]
        extra = [o[:160] for o in objects if o not in sdk]
        assert (missing, extra) == ([], []), f"{cli} differs from the SDK: missing {missing} extra {extra}"


@pytest.mark.parametrize("cli", HELM_CLIS)
@pytest.mark.parametrize(
    "stage_values, message",
    [
        pytest.param({"api": {"maxSurge": 0}}, "stages.api.maxSurge is 0", id="maxSurge-number-0"),
        pytest.param({"api": {"maxSurge": "2"}}, 'stages.api.maxSurge "2": an integer or a percentage', id="maxSurge-bare-string"),
        pytest.param({"api": {"replicaCount": 2, "autoscaling": {"enabled": False}, "pdb": {"enabled": True, "minAvailable": 2}}},
                     "stages.api.pdb.minAvailable 2 with stages.api.replicaCount 2 allows no disruption", id="pdb-number"),
    ],
)
def test_validation_treats_numbers_the_same_in_both_clis(cli: str, stage_values: dict, message: str):
    """Helm 3 hands numbers to templates as json.Number (kind string): the checks must still see
    numbers as numbers and strings as strings, with the same message in both CLIs."""
    case = next(c for c in CLI_CASES if c.env == "prod" and c.step == "api" and not c.redis)
    args = ["template", RELEASE, "charts/ranker", "--namespace", NAMESPACE,
            *values_args(case, {"stages": stage_values})]
    done = run_tool(cli, *args)
    assert done.returncode != 0, f"{cli} rendered values it must refuse: {stage_values}"
    assert message in re.sub(r"\s+", " ", done.stderr), done.stderr
