"""The values files ``ranker-values gen`` writes, produced by the real generator for the tests.

Until H1b's ``ranker_values.pipeline`` / ``ranker_values.values.emit`` exist, matrix cells skip with that
reason (and FAIL under ``CI``); the hand-written ``tests/data/generated-sample/update.yaml``
is rendered regardless. Once the modules exist, any error they raise fails the test: a broken
generator must never turn into a skip.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

from support import ENV_VALUES, REPO, SHARED_CONFIGS, missing, require_shared

STEPS = ("bootstrap", "train", "upload", "api", "update")
GENERATOR_MODULES = ("ranker_values.pipeline", "ranker_values.values.emit")
HANDWRITTEN_SAMPLE = REPO / "tests" / "data" / "generated-sample" / "update.yaml"
EXAMPLE_CONFIG = REPO / "examples" / "config.yml"

_out_root: Path | None = None
_cache: dict[str, dict[str, Path]] = {}


def generator_missing() -> str | None:
    """Why the generator cannot be used yet, or None when its modules import."""
    try:
        import ranker_values.values.emit  # noqa: F401
        import ranker_values.pipeline  # noqa: F401
    except ModuleNotFoundError as exc:
        if exc.name in GENERATOR_MODULES:
            return f"{exc.name} is not written yet (H1b)"
        raise
    return None


def require_generator() -> None:
    """Skip while the generator modules do not exist; under CI that is a failure."""
    reason = generator_missing()
    if reason is None:
        return
    missing(f"{reason}; only {HANDWRITTEN_SAMPLE.relative_to(REPO)} is rendered", f"{reason}: CI must run the full render matrix")


def generated_files(config: str) -> dict[str, Path]:
    """``{step: path}`` of the five files ``ranker-values gen CONFIG`` writes for a shared config.

    Generated without ``--env``: the shared Metarank configs use local paths (and the sample one
    memory state), which ``--env prod`` rightly refuses; the environment dimension of the matrix
    is the operator's values file rendered alongside.
    """
    if config not in _cache:
        require_generator()
        require_shared(SHARED_CONFIGS[config])
        _cache[config] = _generate(SHARED_CONFIGS[config], None, _out_dir(config))
    return dict(_cache[config])


def generated_example_files(env: str) -> dict[str, Path]:
    """The five files of ``ranker-values gen examples/config.yml --env ENV`` (object-store paths)."""
    key = f"example-{env}"
    if key not in _cache:
        require_generator()
        _cache[key] = _generate(EXAMPLE_CONFIG, ENV_VALUES[env], _out_dir(key))
    return dict(_cache[key])


def generate_texts(config_path: Path, env_file: Path | None = None) -> dict[str, str]:
    """``{filename: text}`` straight from ``ranker_values.values.emit.render_values``."""
    require_generator()
    from ranker_values.values.emit import render_values
    from ranker_values.pipeline import load_deployment

    return render_values(load_deployment(config_path, env_file=env_file))


def _generate(config_path: Path, env_file: Path | None, out_dir: Path) -> dict[str, Path]:
    texts = generate_texts(config_path, env_file)
    files = {}
    for filename, text in texts.items():
        path = out_dir / filename
        path.write_text(text, encoding="utf-8")
        files[Path(filename).stem] = path
    missing = [s for s in STEPS if s not in files]
    assert not missing, f"render_values wrote {sorted(texts)}; missing steps {missing}"
    return files


def _out_dir(name: str) -> Path:
    global _out_root
    if _out_root is None:
        _out_root = Path(tempfile.mkdtemp(prefix="ranker-generated-"))
        atexit.register(shutil.rmtree, _out_root, True)
    path = _out_root / name
    path.mkdir(exist_ok=True)
    return path
