"""Children that a test interrupts with SIGINT, as a user's Ctrl-C would.

A background job of a non-interactive shell (`make test &`, nohup, a CI step's `cmd &`) starts with
SIGINT ignored, its children inherit that, and Python then installs no KeyboardInterrupt handler:
the child would not even notice the test's SIGINT. Give the child a default SIGINT, as a terminal's
foreground process has: `subprocess.Popen(..., preexec_fn=sigint_default)`.
"""

from __future__ import annotations

import signal


def sigint_default() -> None:
    """In the child, before exec: SIGINT back to its default (Python then turns it into KeyboardInterrupt)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
