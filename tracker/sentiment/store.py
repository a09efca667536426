"""Where trained models live: ``instance/models/sentiment/<version>/``, with the active one
and the activation history kept beside them so a bad model can be rolled back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from tracker.sentiment import Scorer

if TYPE_CHECKING:  # the model code pulls in scikit-learn: only where scoring happens
    from tracker.sentiment.hashed_logistic import HashedLogisticModel

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

    def save(self, model: HashedLogisticModel) -> Path:
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
    """``setting``: "auto" (the shop's trained model, else the bundled one), "snownlp",
    or a model directory."""
    if setting == SNOWNLP:
        from tracker.sentiment.snownlp_scorer import SnowNLPScorer

        return SnowNLPScorer()
    from tracker.sentiment.hashed_logistic import HashedLogisticModel

    if setting not in ("", "auto"):
        return HashedLogisticModel.load(Path(setting))
    current = store.current_version()
    if current == SNOWNLP:
        return load_scorer(SNOWNLP, store)
    if current is not None:
        return HashedLogisticModel.load(store.root / current)
    return HashedLogisticModel.load(bundled_model_dir())
