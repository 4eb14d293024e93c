"""Owner-only files: .run/ holds visitors' personal data (the SQLite databases, Rasa's tracker store)
and secrets (demo logins, Rasa's endpoints with the action token), so no other local user may read it."""
from __future__ import annotations

import os
from pathlib import Path


def private_dir(path: Path) -> Path:
    """Create `path` (and its parents) if missing; `path` itself ends 0700."""
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o700)
    return path


def private_file(path: Path) -> Path:
    """Create `path` empty if missing (0600 from the start, never readable by others even briefly),
    or make an existing one 0600."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        path.chmod(0o600)
    return path
