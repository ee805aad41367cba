"""The tune report: ``report.json`` (every trial, the winner, the test verdict), ``search.png``
(the search at a glance) and a short text summary."""

from __future__ import annotations

import io
import json
from typing import Any


def build_report(
    *,
    model: str,
    dataset_uri: str,
    model_path: str,
    spec: dict[str, Any],
    dataset_info: dict[str, Any],
    engine_settings: dict[str, Any],
    results: list[dict[str, Any]],
    best: dict[str, Any] | None,
    verdict: Any,
    written: str,
    forced: bool,
    xgboost_version: str,
) -> dict[str, Any]:
    ok = [r for r in results if r.get("status") == "ok"]
    return {
        "model": model,
        "dataset": dataset_uri,
        "model_path": model_path,
        "search": {**spec, "method": "random", "trials": len(results), "ok": len(ok), "failed": len(results) - len(ok)},
        "dataset_stats": dataset_info,
        "engine_settings": engine_settings,
        "trials": sorted(results, key=lambda r: r.get("index", 0)),
        "failed_trials": [r for r in results if r.get("status") != "ok"],
        "best_trial": best,
        "test": {
            "ndcg_cutoff": engine_settings["ndcg_cutoff"],
            "train_queries": verdict.train_queries,
            "test_queries": verdict.test_queries,
            "ndcg": verdict.test_ndcg,
            "comparisons": verdict.comparisons,
            "candidate": verdict.candidate,
            "candidate_beats_engine": verdict.wins,
        },
        "model_written": bool(written),
        "model_written_from": written or None,
        "forced": forced,
        "xgboost": xgboost_version,
    }


def summary(report: dict[str, Any]) -> str:
    t = report["test"]
    k = t["ndcg_cutoff"]
    lines = [
        f"tune {report['model']}: {report['search']['ok']}/{report['search']['trials']} trials ok"
        + (f", {report['search']['failed']} failed (see failed_trials in the report)" if report["search"]["failed"] else ""),
    ]
    if report["best_trial"]:
        b = report["best_trial"]
        lines.append(f"best trial #{b['index']}: CV NDCG@{k} {b['cv_mean']:.4f} ± {b['cv_std']:.4f}")
    lines.append(f"test NDCG@{k} on {t['test_queries']} queries (trained on {t['train_queries']}):")
    labels = {"engine": "engine as it trains (0.4.1)", "baseline": "sound baseline (same settings)", "tuned": "tuned"}
    for name in ("engine", "baseline", "tuned"):
        if name in t["ndcg"]:
            lines.append(f"  {labels[name]:32s} {t['ndcg'][name]:.4f}")
    for name, c in t["comparisons"].items():
        lines.append(f"  {name.replace('_vs_', ' − '):32s} {c['mean']:+.4f}  [95% {c['low']:+.4f}, {c['high']:+.4f}]")
    if report["model_written"] and report["model_written_from"] == "engine" and not t["candidate_beats_engine"] and not report["forced"]:
        lines.append(f"wrote the engine-trained model → {report['model_path']} (--replace-train: the {t['candidate']} model does not beat it beyond noise)")
    elif report["model_written"]:
        why = "forced" if report["forced"] else f"the {t['candidate']} model beats the engine's training"
        lines.append(f"wrote {t['candidate']} model → {report['model_path']} ({why})")
    else:
        lines.append(f"model NOT written: the {t['candidate']} model does not beat the engine's training beyond noise (use --force to write it anyway)")
    return "\n".join(lines)


def plot_png(report: dict[str, Any]) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = [r for r in report["trials"] if r.get("status") == "ok"]
    k = report["test"]["ndcg_cutoff"]
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=100)
    if ok:
        xs = [r["index"] for r in ok]
        ax.errorbar(xs, [r["cv_mean"] for r in ok], yerr=[r["cv_std"] for r in ok], fmt="o", ms=3, alpha=0.6, label="trial (CV mean ± std)")
        best, running = None, []
        for r in sorted(ok, key=lambda r: r["index"]):
            best = r["cv_mean"] if best is None else max(best, r["cv_mean"])
            running.append((r["index"], best))
        ax.step([x for x, _ in running], [y for _, y in running], where="post", color="C1", label="best so far")
    for name, style in (("engine", "r--"), ("baseline", "g:"), ("tuned", "b-.")):
        value = report["test"]["ndcg"].get(name)
        if value is not None:
            ax.axhline(value, linestyle=style[1:], color=style[0], lw=1, label=f"test: {name} {value:.3f}")
    ax.set_xlabel("trial")
    ax.set_ylabel(f"NDCG@{k}")
    ax.set_title(f"tune {report['model']}: random search, {report['search']['folds']}-fold CV")
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png")
    plt.close(fig)
    return out.getvalue()


def to_json(report: dict[str, Any]) -> bytes:
    return (json.dumps(_finite(report), indent=2, sort_keys=True, allow_nan=False) + "\n").encode()


def _finite(value: Any) -> Any:
    """NaN/inf (e.g. NDCG of an empty set) → null: JSON has no NaN."""
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value
