"""What bot/server.py starts in Rasa's venv (never imported by the app): `rasa` with
bot/rasa_run.py's fix, plus two things a plain command line cannot do safely.
- The API token comes from the environment (/proc/PID/environ is readable by its owner only; a
  command line, by every local user) and is handed to Rasa as `--auth-token`.
- With SHOPCHAT_RASA_PARENT_PID set, Rasa gets SIGTERM when its parent dies (prctl
  PR_SET_PDEATHSIG), even by kill -9, so no Rasa is left behind holding the port."""
import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def tie_to_parent(parent_pid: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM) != 0:
        print(f"prctl(PR_SET_PDEATHSIG) failed: errno {ctypes.get_errno()}", file=sys.stderr)
    if os.getppid() != parent_pid:  # the parent died before the line above
        sys.exit("the process that started Rasa is gone")


if __name__ == "__main__":
    parent = os.environ.pop("SHOPCHAT_RASA_PARENT_PID", "")
    if parent:
        tie_to_parent(int(parent))
    token = os.environ.pop("SHOPCHAT_RASA_AUTH_TOKEN", "")
    if token:
        sys.argv.append(f"--auth-token={token}")  # one argument: a token may start with "-"

    import rasa_run  # noqa: F401  (its fix applies on import; bot/ is this script's sys.path[0])
    from rasa.__main__ import main

    sys.exit(main())
