"""The sealer of personal data, for the app in context: buyers' and agents' phone numbers,
buyers' names, addresses and birthdays (tracker.services.buyer_profiles).

They are sealed with ``TRACKER_PERSONAL_DATA_KEY`` (Fernet keys, comma separated: the
first seals, every one opens; ``flask rotate-personal-data`` reseals with the first). It is
a key apart from the credentials key, so either can be rotated or handed over alone.
Without it, development derives one from SECRET_KEY; production refuses to start.
"""

from __future__ import annotations

from flask import current_app

from tracker.sealing import Sealer, derived_key

_EXTENSION = "tracker.personal_vault"


def personal_vault() -> Sealer:
    """Built once per key setting (an import seals thousands of numbers and names)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    keys = app.config.get("TRACKER_PERSONAL_DATA_KEY") or derived_key(
        app.config["SECRET_KEY"], purpose="personal data"
    )
    cached = app.extensions.get(_EXTENSION)
    if cached is None or cached[0] != keys:
        cached = app.extensions[_EXTENSION] = (keys, Sealer(keys))
    return cached[1]
