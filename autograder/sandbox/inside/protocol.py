"""Wire format between the judge and the student process: one frame per message, JSON + raw arrays.

Used on both sides of the trust boundary, so it depends on the standard library and NumPy only
(the student process sees this folder, autograder/sandbox/inside/, never the rest of the package). NumPy is imported
where first needed, so that the judge can launch the student process before paying for it.

A message is one frame: a 4-byte big-endian length, then a 4-byte length of the JSON header, the
header, and the arrays' bytes back to back. The header lists each array's dtype and shape; only
plain numeric dtypes (bool, integer, float, complex) are accepted, so nothing on this channel is
ever unpickled or turned into an object. Values in the body refer to arrays as {"$a": index}.
"""

from __future__ import annotations

import json
import math
import re
import select
import socket
import struct
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

MAX_HEADER = 1 << 20  # 1 MiB of JSON
MAX_ARRAY = 64 << 20  # 64 MiB per array
MAX_ARRAYS = 256  # arrays per message
MAX_MESSAGE = MAX_HEADER + 4 * MAX_ARRAY
# What the judge accepts in one reply from the student's part child: the JSON header and at most
# 2**20 elements of the widest dtype (complex128), received.MAX_REPLY_ELEMENTS. A larger frame is
# refused from its 4-byte length, before any of it is read (recv's limit).
MAX_REPLY = MAX_HEADER + (16 << 20)
# ... and at most this many elements in total, over every reference to an array and every number
# in a list (received.received on the judge's side; describe.describe stops early on the student's).
MAX_REPLY_ELEMENTS = 4 << 20
_DTYPE = re.compile(r"[<>|][biuf][1248]|[<>|]c(8|16)")  # e.g. "<f8", "|b1", "<i4"


class ChannelClosed(Exception):
    """The other side closed the channel or sent something that is not a message."""


class MessageTooLarge(ChannelClosed):
    """A frame longer than the receiver's limit: refused unread (the channel is out of step after it)."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"message of {size} bytes exceeds the limit of {limit}")
        self.size, self.limit = size, limit


class ChannelTimeout(Exception):
    """No complete message arrived before the deadline."""


def _recv_exact(sock: socket.socket, n: int, deadline: float | None) -> bytearray:
    buf, got = bytearray(n), 0
    view = memoryview(buf)
    while got < n:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ChannelTimeout()
            sock.settimeout(left)
        else:
            sock.settimeout(None)
        try:
            k = sock.recv_into(view[got:], min(n - got, 1 << 22))
        except TimeoutError:
            raise ChannelTimeout() from None
        except OSError as exc:
            raise ChannelClosed(str(exc)) from None
        if not k:
            raise ChannelClosed("end of stream")
        got += k
    return buf


def pack(value: Any, arrays: list[np.ndarray] | None = None) -> tuple[Any, list[np.ndarray]]:
    """Replace arrays in a JSON-like value by {"$a": i}; numbers become 0-d arrays if not finite."""
    import numpy as np

    arrays = [] if arrays is None else arrays

    def walk(v: Any, depth: int) -> Any:
        if depth > 16:
            raise ValueError("value nested too deeply")
        if isinstance(v, np.ndarray):
            if not _DTYPE.fullmatch(v.dtype.str):
                raise TypeError(f"cannot send an array of dtype {v.dtype}")
            if v.nbytes > MAX_ARRAY:
                raise ValueError(f"array of {v.nbytes} bytes exceeds the limit of {MAX_ARRAY}")
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


def encode(header: dict[str, Any]) -> bytes:
    """The frame for a header (a JSON-like dict that may hold arrays anywhere)."""
    body, arrays = pack(header)
    if len(arrays) > MAX_ARRAYS:
        raise ValueError(f"too many arrays: {len(arrays)}")
    specs = [[a.dtype.str, list(a.shape)] for a in arrays]
    head = json.dumps({"body": body, "arrays": specs}, ensure_ascii=False).encode()
    payload = [struct.pack(">I", len(head)), head, *(a.tobytes(order="C") for a in arrays)]
    size = sum(len(p) for p in payload)
    if size > MAX_MESSAGE:
        raise ValueError(f"message of {size} bytes exceeds the limit of {MAX_MESSAGE}")
    return struct.pack(">I", size) + b"".join(payload)


def send(sock: socket.socket, header: dict[str, Any]) -> None:
    """Send a header (a JSON-like dict that may hold arrays anywhere)."""
    send_encoded(sock, encode(header))


def send_encoded(sock: socket.socket, frames: bytes) -> None:
    """Send frames made by encode(), one or several back to back."""
    sock.settimeout(None)
    sock.sendall(frames)


def _array(spec: Any, data: memoryview | bytes, at: int) -> tuple[np.ndarray, int]:
    if not (
        isinstance(spec, list)
        and len(spec) == 2
        and isinstance(spec[0], str)
        and _DTYPE.fullmatch(spec[0])
        and isinstance(spec[1], list)
        and len(spec[1]) <= 32
        and all(isinstance(d, int) and not isinstance(d, bool) and 0 <= d for d in spec[1])
    ):
        raise ChannelClosed(f"bad array spec: {str(spec)[:80]}")
    import numpy as np

    dtype, shape = np.dtype(spec[0]), tuple(spec[1])
    count = math.prod(shape)
    nbytes = count * dtype.itemsize
    if nbytes > MAX_ARRAY or at + nbytes > len(data):
        raise ChannelClosed("array frame exceeds the message or the limit")
    a = np.frombuffer(data, dtype=dtype, count=count, offset=at).reshape(shape).copy()
    return a, at + nbytes


def decode(payload: bytes | bytearray) -> dict[str, Any]:
    """The message in a frame's payload; raises ChannelClosed on anything malformed."""
    if len(payload) < 4:
        raise ChannelClosed("short message")
    (n,) = struct.unpack_from(">I", payload)
    if n > MAX_HEADER or 4 + n > len(payload):
        raise ChannelClosed(f"header of {n} bytes exceeds the message or the limit")
    try:
        head = json.loads(bytes(payload[4 : 4 + n]).decode("utf-8"))
        specs = head["arrays"]
        if not isinstance(specs, list):
            raise TypeError("arrays is not a list")
    except (ValueError, KeyError, TypeError, RecursionError) as exc:  # e.g. "[" * 500000
        raise ChannelClosed(f"malformed header: {type(exc).__name__}") from None
    if len(specs) > MAX_ARRAYS:
        raise ChannelClosed(f"too many arrays: {len(specs)}")
    data, at, arrays = memoryview(payload), 4 + n, []
    for spec in specs:
        a, at = _array(spec, data, at)
        arrays.append(a)
    if at != len(payload):
        raise ChannelClosed("trailing bytes after the arrays")
    body = unpack(head.get("body"), arrays)
    if not isinstance(body, dict):
        raise ChannelClosed("message body is not an object")
    return body


def spin_until_readable(sock: socket.socket, seconds: float) -> None:
    """Poll without sleeping for up to `seconds` before a blocking read.

    On a virtual machine a process that blocks gives up its vCPU, and waking it takes longer than
    most replies take. Only for one-shot grading, where each side has a core of its own."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        if select.select([sock], [], [], 0)[0]:
            return


def recv(
    sock: socket.socket, deadline: float | None = None, spin: float = 0.0, limit: int = MAX_MESSAGE
) -> dict[str, Any]:
    """Receive one message; arrays come back as writable NumPy arrays of plain numeric dtypes.
    spin: seconds to poll before blocking (see spin_until_readable); limit: the largest frame
    accepted (bytes), else MessageTooLarge before the frame is read."""
    if spin > 0:
        spin_until_readable(sock, spin)
    (size,) = struct.unpack(">I", _recv_exact(sock, 4, deadline))
    if size > min(limit, MAX_MESSAGE):
        raise MessageTooLarge(size, min(limit, MAX_MESSAGE))
    return decode(_recv_exact(sock, size, deadline))
