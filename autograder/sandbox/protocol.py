"""Wire format between the judge and the student process: JSON headers and .npy arrays.

Used on both sides of the trust boundary, so it depends on the standard library and NumPy only
(the student process gets a copy of this file, never the autograder package).

A message is one JSON frame followed by the array frames it announces. Each frame is a 4-byte
big-endian length and its bytes. Arrays are `.npy` blobs read with `allow_pickle=False`, so an
object array (the only way a pickle could travel) is refused. Values inside the JSON refer to
arrays as {"$a": index}. Nothing on this channel is ever unpickled.
"""
from __future__ import annotations

import io
import json
import math
import socket
import struct
import time
from typing import Any

import numpy as np

MAX_HEADER = 1 << 20        # 1 MiB of JSON
MAX_ARRAY = 64 << 20        # 64 MiB per array
MAX_ARRAYS = 256            # arrays per message


class ChannelClosed(Exception):
    """The other side closed the channel or sent something that is not a message."""


class ChannelTimeout(Exception):
    """No complete message arrived before the deadline."""


def _recv_exact(sock: socket.socket, n: int, deadline: float | None) -> bytes:
    chunks, got = [], 0
    while got < n:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ChannelTimeout()
            sock.settimeout(left)
        try:
            chunk = sock.recv(min(n - got, 1 << 20))
        except socket.timeout:
            raise ChannelTimeout() from None
        except OSError as exc:
            raise ChannelClosed(str(exc)) from None
        if not chunk:
            raise ChannelClosed("end of stream")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _recv_frame(sock: socket.socket, limit: int, deadline: float | None) -> bytes:
    (n,) = struct.unpack(">I", _recv_exact(sock, 4, deadline))
    if n > limit:
        raise ChannelClosed(f"frame of {n} bytes exceeds the limit of {limit}")
    return _recv_exact(sock, n, deadline)


def pack(value: Any, arrays: list[np.ndarray] | None = None) -> tuple[Any, list[np.ndarray]]:
    """Replace arrays in a JSON-like value by {"$a": i}; numbers become 0-d arrays if not finite."""
    arrays = [] if arrays is None else arrays

    def walk(v: Any, depth: int) -> Any:
        if depth > 16:
            raise ValueError("value nested too deeply")
        if isinstance(v, np.ndarray):
            arrays.append(v)
            return {"$a": len(arrays) - 1}
        if isinstance(v, float) and not math.isfinite(v):
            arrays.append(np.asarray(v))
            return {"$a": len(arrays) - 1}
        if v is None or isinstance(v, (bool, int, float, str)):
            return v
        if isinstance(v, (list, tuple)):
            return [walk(x, depth + 1) for x in v]
        if isinstance(v, dict):
            return {str(k): walk(x, depth + 1) for k, x in v.items()}
        raise TypeError(f"cannot send a value of type {type(v).__name__}")

    return walk(value, 0), arrays


def unpack(value: Any, arrays: list[np.ndarray]) -> Any:
    if isinstance(value, list):
        return [unpack(v, arrays) for v in value]
    if isinstance(value, dict):
        if set(value) == {"$a"} and isinstance(value["$a"], int) and 0 <= value["$a"] < len(arrays):
            return arrays[value["$a"]]
        return {k: unpack(v, arrays) for k, v in value.items()}
    return value


def send(sock: socket.socket, header: dict[str, Any]) -> None:
    """Send a header (a JSON-like dict that may hold arrays anywhere)."""
    body, arrays = pack(header)
    frames = [json.dumps({"body": body, "arrays": len(arrays)}, ensure_ascii=False).encode()]
    for a in arrays:
        buf = io.BytesIO()
        np.save(buf, a, allow_pickle=False)
        frames.append(buf.getvalue())
    sock.settimeout(None)
    sock.sendall(b"".join(struct.pack(">I", len(f)) + f for f in frames))


def recv(sock: socket.socket, deadline: float | None = None) -> dict[str, Any]:
    """Receive one message; arrays come back as NumPy arrays loaded without pickle."""
    raw = _recv_frame(sock, MAX_HEADER, deadline)
    try:
        head = json.loads(raw.decode("utf-8"))
        n = int(head["arrays"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ChannelClosed(f"malformed header: {exc}") from None
    if not 0 <= n <= MAX_ARRAYS:
        raise ChannelClosed(f"too many arrays: {n}")
    arrays = []
    for _ in range(n):
        blob = _recv_frame(sock, MAX_ARRAY, deadline)
        try:
            arrays.append(np.load(io.BytesIO(blob), allow_pickle=False))
        except Exception as exc:  # malformed or object array: never unpickled
            raise ChannelClosed(f"bad array frame: {exc}") from None
    body = unpack(head.get("body"), arrays)
    if not isinstance(body, dict):
        raise ChannelClosed("message body is not an object")
    return body
