"""Values the student's code returned, coerced to float64 on the judge's side or explained in Japanese."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import messages as say
from .errors import StudentError
from .received import MAX_ELEMENTS, TEXT_LIMITS, clean_text, student_text

if TYPE_CHECKING:  # NumPy is imported where first needed: the CLI launches the student before it
    import numpy as np


def too_big(value: Any) -> tuple[str, list[int]] | None:
    """(dtype, shape) of an array received() refused, else None."""
    if isinstance(value, dict) and set(value) == {"$big"} and isinstance(value["$big"], list):
        return tuple(value["$big"][:2]) if len(value["$big"]) == 2 else ("?", [])
    return None


def as_float_array(value: Any, what: str) -> np.ndarray:
    """Coerce a returned value to a float64 array or explain (in Japanese) why it is not one.
    The size is checked before any conversion."""
    import numpy as np

    big = too_big(value)
    if big is not None or (isinstance(value, np.ndarray) and value.size > MAX_ELEMENTS):
        shape = tuple(big[1]) if big is not None else value.shape
        raise StudentError(say.array_too_big(what, clean_text(shape, 60), MAX_ELEMENTS))
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        return value.astype(np.float64)
    if isinstance(value, np.ndarray) and value.dtype.kind == "c":
        raise StudentError(say.complex_array(what, value.dtype))
    if value is None:
        raise StudentError(say.returned_none(what))
    if isinstance(value, dict) and "$obj" in value:
        raise StudentError(say.not_an_array(what, student_text(value["$obj"], TEXT_LIMITS["type"])))
    if isinstance(value, list):
        try:
            out = np.asarray(value, dtype=np.float64)
            if out.size <= MAX_ELEMENTS:
                return out
        except (TypeError, ValueError):
            pass
    raise StudentError(say.not_numbers(what, type(value).__name__))


def forward_output(raw: Any, class_name: str) -> np.ndarray:
    return as_float_array(raw, say.returned_by(class_name, "forward"))


def loss_value(raw: Any, class_name: str) -> float:
    """For losses: the scalar a forward returns."""
    value = as_float_array(raw, say.returned_by(class_name, "forward"))
    if value.size != 1:
        raise StudentError(say.not_a_scalar(class_name, value.shape))
    return float(value.reshape(()))
