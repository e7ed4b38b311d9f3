"""The graders' calls to the student's objects, written as the math and sent a round at a time.

    with Round(student) as r:
        layer = r.new("Linear", 3, 2, params={"W": W, "b": b})
        y = layer.forward(x)
        first = layer.backward(dout, grads=("W", "b"))
    y.value()       # the forward output, a float64 array
    first.value()   # a Backward: dx, grads, what the runner saw

An object of the student's process is an argument as `layer.ref` (made in this round or an
earlier one): it stays there, only its handle crosses. `r.func("train", model.ref, ...)` calls a
top-level function of the student's namespace.

Inside the block nothing is sent: leaving it sends every call in one message, which the student
runs in order until the first that fails. Each result is then a Future. The first failure is
raised by its own future and by every later one (the student ran nothing after it), so a test
that needs only an early result is not charged for a later call.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Generic, TypeVar

import numpy as np

from autograder.sandbox import messages as say
from autograder.sandbox import requests
from autograder.sandbox.errors import Missing, StudentError
from autograder.sandbox.part_session import PartSession, RemoteObject, step_reply
from autograder.sandbox.values import forward_output, loss_value

T = TypeVar("T")
MISSING: Any = object()  # a grads entry the student's object does not have


@dataclass
class Backward:
    """What one backward call gave: its result and grads (as described by the runner), and what
    the runner observed: whether the array arguments changed, and how the call left them."""

    result: Any
    grads: dict[str, Any] = field(default_factory=dict)
    args_changed: list[bool] = field(default_factory=list)
    args_after: list[Any] = field(default_factory=list)
    forward_calls: int = 0


class Future(Generic[T]):
    """The result of one call of a round, known once the round has been sent."""

    def __init__(self) -> None:
        self.ok = False
        self._value: Any = None
        self._error: BaseException | None = None

    def value(self) -> T:
        if self._error is not None:
            raise self._error.with_traceback(None)  # a fresh traceback each time it is raised
        return self._value  # type: ignore[no-any-return]

    @property
    def error(self) -> BaseException | None:
        return self._error


class Round:
    """The calls of one round trip to a part's student child."""

    def __init__(self, student: PartSession) -> None:
        self.student = student
        self._steps: list[tuple[dict[str, Any], str]] = []
        self._convert: list[Callable[[dict[str, Any]], Any]] = []
        self._futures: list[Future[Any]] = []

    def new(self, class_name: str, *args: Any, params: dict[str, Any] | None = None) -> Remote:
        """class_name(*args), then obj.params[k] = v for each of params."""
        obj = Remote(self, class_name, {"$step": len(self._steps)})
        obj.made = self._add(requests.new(class_name, *args), lambda reply: self.student.made(reply, class_name))
        if params:
            obj.set("params", params)
        return obj

    def on(self, obj: RemoteObject) -> Remote:
        """An object made in an earlier round."""
        remote = Remote(self, obj.class_name, obj.handle)
        remote.made = Future()
        remote.made.ok, remote.made._value = True, obj
        return remote

    def func(self, name: str, *args: Any) -> Future[Any]:
        """name(*args), a top-level function of the student's namespace: its result as described
        by the runner (Missing if there is no such function)."""

        def convert(reply: dict[str, Any]) -> Any:
            if reply.get("missing"):
                raise Missing(say.function_missing(name))
            return reply.get("result")

        return self._add(requests.func(name, *args), convert)

    def _add(self, request: tuple[dict[str, Any], str], convert: Callable[[dict[str, Any]], Any]) -> Future[Any]:
        self._steps.append(request)
        self._convert.append(convert)
        self._futures.append(Future())
        return self._futures[-1]

    def send(self) -> None:
        replies, error = self.student.steps(self._steps)
        failed: BaseException | None = None
        for i, (convert, future) in enumerate(zip(self._convert, self._futures, strict=True)):
            if failed is None:
                try:
                    future._value, future.ok = convert(step_reply(replies, error, i)), True
                    continue
                except (AssertionError, StudentError) as exc:
                    failed = exc
            future._error = failed

    def __enter__(self) -> Round:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if kind is None:
            self.send()


class Remote:
    """A student object in a round: made by it, or by an earlier one (Round.on)."""

    made: Future[RemoteObject]

    def __init__(self, round_: Round, class_name: str, handle: requests.Handle) -> None:
        self.round, self.class_name, self.handle = round_, class_name, handle

    def object(self) -> RemoteObject:
        return self.made.value()

    @property
    def ref(self) -> requests.Ref:
        """This object as an argument of a later call of the round (or of a later round)."""
        return requests.Ref(self.handle)

    def forward(self, x: np.ndarray) -> Future[np.ndarray]:
        """A layer's forward(x), as a float64 array."""

        def convert(reply: dict[str, Any]) -> np.ndarray:
            return forward_output(self.object().take_reply(reply), self.class_name)

        return self.round._add(requests.call(self.handle, self.class_name, "forward", x), convert)

    def loss(self, y: np.ndarray, t: np.ndarray) -> Future[np.ndarray]:
        """A loss's forward(y, t): the loss value, as a float64 array."""

        def convert(reply: dict[str, Any]) -> np.ndarray:
            return np.asarray(loss_value(self.object().take_reply(reply), self.class_name))

        return self.round._add(requests.call(self.handle, self.class_name, "forward", y, t), convert)

    def backward(self, *args: Any, grads: Sequence[str] = ()) -> Future[Backward]:
        """backward(*args), with grads[k] for each key as they are right after the call."""
        fetch = ("grads", tuple(grads)) if grads else None

        def convert(reply: dict[str, Any]) -> Backward:
            obj = self.object()
            raw = obj.take_reply(reply)
            seen = Backward(raw, {}, list(obj.last_args_changed), list(obj.last_args_after), obj.last_forward_calls)
            seen.grads = {k: obj.last_fetched.get(k, MISSING) for k in grads}
            return seen

        return self.round._add(requests.call(self.handle, self.class_name, "backward", *args, fetch=fetch), convert)

    def set(self, attr: str, items: dict[str, Any]) -> Future[None]:
        """obj.attr[key] = value for each item."""
        return self.round._add(requests.update(self.handle, self.class_name, attr, items), lambda reply: None)

    def get(self, attr: str, key: str) -> Future[Any]:
        """obj.attr[key] as described by the runner (MISSING if it has no such entry)."""

        def convert(reply: dict[str, Any]) -> Any:
            return MISSING if reply.get("missing") else reply.get("value")

        return self.round._add(requests.get(self.handle, self.class_name, attr, key), convert)
