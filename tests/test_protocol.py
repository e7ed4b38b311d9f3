"""The wire format between judge and student: arrays travel as raw bytes of plain numeric dtypes."""

from __future__ import annotations

import json
import math
import socket
import struct

import numpy as np
import pytest

from autograder.sandbox.inside import protocol


def frame(header: dict, data: bytes = b"") -> bytes:
    """A message payload (without the outer length) as a hostile sender could build it."""
    head = json.dumps(header).encode()
    return struct.pack(">I", len(head)) + head + data


def roundtrip(value: dict) -> dict:
    return protocol.decode(protocol.encode(value)[4:])


def test_values_and_arrays_come_back_equal_and_writable():
    a = np.arange(12, dtype=np.float64).reshape(3, 4)
    sent = {
        "t": a.T,
        "zero_d": np.asarray(7),
        "empty": np.zeros((0, 3)),
        "labels": np.array([2, 0, 1]),
        "mask": np.array([True, False]),
        "big_endian": np.arange(3, dtype=">f4"),
        "c": np.array([1 + 2j]),
        "nested": [{"x": a[:, 1]}, None, "文字", 3, 2.5, True],
        "inf": math.inf,
        "nan": float("nan"),
    }
    got = roundtrip(sent)
    for key in ("t", "zero_d", "empty", "labels", "mask", "big_endian", "c"):
        assert got[key].dtype == sent[key].dtype and got[key].shape == sent[key].shape, key
        assert np.array_equal(got[key], sent[key]), key
        assert got[key].flags.writeable
    assert np.array_equal(got["nested"][0]["x"], a[:, 1]) and got["nested"][1:] == [None, "文字", 3, 2.5, True]
    assert got["inf"] == math.inf and np.isnan(got["nan"])


@pytest.mark.parametrize(
    "value",
    [
        np.array([object()], dtype=object),
        np.array(["a"]),
        np.zeros(2, dtype="M8[s]"),
        np.zeros(1, dtype=[("a", "f8")]),
        object(),
    ],
)
def test_sender_refuses_what_is_not_plain_data(value):
    with pytest.raises(TypeError):
        protocol.encode({"v": value})


@pytest.mark.parametrize(
    "spec",
    [
        ["|O", [1]],
        ["|O8", [1]],
        ["|V8", [1]],
        ["<M8[s]", [1]],
        ["<U1", [1]],
        ["<f8", [-1]],
        ["<f8", [True]],
        ["<f8", "1"],
        ["f8", [1]],
        "<f8",
        ["<f8", [1] * 33],
    ],
)
def test_receiver_refuses_other_dtypes_and_bad_shapes(spec):
    with pytest.raises(protocol.ChannelClosed):
        protocol.decode(frame({"body": {"v": {"$a": 0}}, "arrays": [spec]}, b"\0" * 8))


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"\0\0",
        frame({"body": {}, "arrays": [["<f8", [2]]]}, b"\0" * 8),  # array cut short
        frame({"body": {}, "arrays": []}, b"extra"),  # trailing bytes
        frame({"body": [], "arrays": []}),
        frame({"arrays": "x"}),
        b"\0\0\0\5{]]]]",  # not a message
        frame({"body": {}, "arrays": [["<f8", [1]]] * (protocol.MAX_ARRAYS + 1)}, b"\0" * 8 * 300),
        frame({"body": {}, "arrays": [["<f8", [protocol.MAX_ARRAY // 8 + 1]]]}),  # over the limit
        struct.pack(">I", protocol.MAX_HEADER + 1) + b"{}",
    ],
)
def test_receiver_refuses_malformed_messages(payload):
    with pytest.raises(protocol.ChannelClosed):
        protocol.decode(payload)


def test_a_pickle_declared_as_an_array_is_never_loaded(tmp_path):
    import pickle

    class Evil:
        def __reduce__(self):
            return (open, (str(tmp_path / "pwned"), "w"))

    for dtype in ("|O", "|O8"):
        with pytest.raises(protocol.ChannelClosed):
            protocol.decode(frame({"body": {"v": {"$a": 0}}, "arrays": [[dtype, [1]]]}, pickle.dumps(Evil())))
    assert not (tmp_path / "pwned").exists()


def test_over_a_socket_with_a_deadline():
    a, b = socket.socketpair()
    with a, b:
        protocol.send(a, {"x": np.ones((100, 100))})  # 80 kB: more than one recv, within the buffer
        assert protocol.recv(b, deadline=None)["x"].shape == (100, 100)
        with pytest.raises(protocol.ChannelTimeout):
            protocol.recv(b, deadline=0.0)
        a.sendall(struct.pack(">I", protocol.MAX_MESSAGE + 1))
        with pytest.raises(protocol.ChannelClosed):
            protocol.recv(b)
        a.close()
        with pytest.raises(protocol.ChannelClosed):
            protocol.recv(b)


def test_sender_refuses_arrays_over_the_limit_with_a_clear_error():
    with pytest.raises(ValueError, match="exceeds the limit"):
        protocol.encode({"v": np.zeros(protocol.MAX_ARRAY // 8 + 1)})


def test_a_spinning_receiver_gets_a_message_that_comes_after_the_spin():
    import threading
    import time

    a, b = socket.socketpair()
    with a, b:
        late = threading.Timer(0.05, protocol.send, (b, {"x": np.arange(3.0)}))
        late.start()
        got = protocol.recv(a, time.monotonic() + 5, spin=0.002)
        late.join()
    assert np.array_equal(got["x"], [0.0, 1.0, 2.0])


def test_a_spinning_receiver_gets_a_message_already_there_and_keeps_the_deadline():
    import time

    a, b = socket.socketpair()
    with a, b:
        protocol.send(b, {"n": 1})
        assert protocol.recv(a, time.monotonic() + 5, spin=0.01) == {"n": 1}
        start = time.monotonic()
        with pytest.raises(protocol.ChannelTimeout):
            protocol.recv(a, time.monotonic() + 0.1, spin=0.02)
        assert 0.09 < time.monotonic() - start < 2
