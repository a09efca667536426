"""Where trained models live: ``instance/models/sentiment/<version>/``, with the active one
and the activation history kept beside them so a bad model can be rolled back."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from tracker.sentiment import Scorer
from tracker.sentiment.text_model import TextModel

log = logging.getLogger(__name__)

BUNDLED_DIR = Path(__file__).resolve().parent / "bundled"
SNOWNLP = "snownlp"


class ModelError(RuntimeError):
    pass


class ModelStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def _history_file(self) -> Path:
        return self.root / "history.json"

    def history(self) -> list[str]:
        if not self._history_file.exists():
            return []
        return list(json.loads(self._history_file.read_text(encoding="utf-8")))

    def current_version(self) -> str | None:
        history = self.history()
        return history[-1] if history else None

    def versions(self) -> list[str]:
        if not self.root.exists():
            return []
        return sorted(p.name for p in self.root.iterdir() if (p / "meta.json").exists())

    def save(self, model: TextModel) -> Path:
        directory = self.root / model.version
        if directory.exists():
            raise ModelError(f"model version {model.version} already exists in {self.root}")
        model.save(directory)
        return directory

    def activate(self, version: str) -> None:
        if version != SNOWNLP and version not in self.versions():
            raise ModelError(f"no model {version!r} in {self.root}")
        self._write_history([*self.history(), version])

    def rollback(self) -> str:
        """Go back to the model active before the current one; return its version."""
        history = self.history()
        if len(history) < 2:
            raise ModelError("there is no earlier model to roll back to")
        self._write_history(history[:-1])
        return history[-2]

    def _write_history(self, history: list[str]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self._history_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(history, ensure_ascii=False), encoding="utf-8")
        tmp.replace(self._history_file)  # atomic: a reader never sees half a file


def bundled_model_dir() -> Path:
    candidates = (
        sorted(p for p in BUNDLED_DIR.iterdir() if (p / "meta.json").exists())
        if BUNDLED_DIR.exists()
        else []
    )
    if not candidates:
        raise ModelError(f"no bundled sentiment model in {BUNDLED_DIR}")
    return candidates[-1]


def load_scorer(setting: str, store: ModelStore) -> Scorer:
    """``setting``: "auto" (the installation's trained model, else the bundled one),
    "snownlp", or a model directory."""
    if setting == SNOWNLP:
        from tracker.sentiment.snownlp_scorer import SnowNLPScorer

        return SnowNLPScorer()
    if setting not in ("", "auto"):
        return _load(Path(setting))
    current = store.current_version()
    if current == SNOWNLP:
        return load_scorer(SNOWNLP, store)
    if current is not None:
        try:
            return _load(store.root / current)
        except ModelError as exc:  # e.g. a model of a kind this version no longer reads
            log.warning("%s; scoring with the bundled model instead", exc)
    return _load(bundled_model_dir())


def model_description(setting: str, store: ModelStore) -> dict[str, Any] | None:
    """The description of the model ``load_scorer`` would load, read alone (no arrays): web
    workers place reviews in bands without loading a model. None for snownlp, which
    carries no thresholds."""
    if setting == SNOWNLP:
        return None
    if setting not in ("", "auto"):
        directory = Path(setting)
    else:
        current = store.current_version()
        if current == SNOWNLP:
            return None
        directory = store.root / current if current else bundled_model_dir()
        if current and not (directory / "meta.json").exists():
            directory = bundled_model_dir()
    try:
        meta = json.loads((directory / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) else None


def _load(directory: Path) -> TextModel:
    try:
        return TextModel.load(directory)
    except (OSError, ValueError, KeyError) as exc:
        raise ModelError(f"cannot load the sentiment model in {directory}: {exc}") from exc
