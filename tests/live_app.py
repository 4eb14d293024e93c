"""LiveApp.start() raises on a slow start (a loaded machine) but leaves the process running: these
stop what they started whatever happens."""
from __future__ import annotations

from contextlib import contextmanager

from tests.support import LiveApp


def started(app: LiveApp) -> LiveApp:
    """app.start(), or app stopped and the error raised."""
    try:
        return app.start()
    except BaseException:
        app.stop()
        raise


@contextmanager
def all_started(apps: list[LiveApp]):
    """Every app started (in order), and every one stopped at the end, also when a start fails."""
    try:
        for app in apps:
            app.start()
        yield apps
    finally:
        for app in apps:
            app.stop()
