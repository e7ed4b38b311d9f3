"""Jupyter kernels the tests start themselves."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jupyter_client.manager import KernelManager


def ipc_kernel_manager(folder: str) -> KernelManager:
    """A "python3" kernel's manager whose channels are Unix sockets in `folder`, not TCP ports: a
    port jupyter_client picked free can be taken by another process before the kernel binds it
    ("Address already in use"), which the suite's workers starting kernels side by side made
    happen."""
    from jupyter_client.manager import KernelManager

    os.makedirs(folder, exist_ok=True)
    return KernelManager(kernel_name="python3", transport="ipc", ip=os.path.join(folder, "kernel"))
