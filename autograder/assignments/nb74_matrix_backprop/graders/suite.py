"""The checks every backward part shares, as one pytest base class.

A part's module declares its grader, value-case shapes (one hidden seed each), the shape of its
property round, how a case is drawn and how a case is named in messages, and subclasses
`LayerSuite` (a layer: `backward(dout)`) or `LossSuite` (a loss: `backward()`):

    class TestSigmoid(LayerSuite):
        grader = BackwardGrader("Sigmoid")
        shapes, ids, hidden = SHAPES, IDS, HIDDEN
        property_shape = (4, 3)
        make_case, label = staticmethod(make_case), staticmethod(label)

Every subclass then has test_gradient_shapes, test_gradients[<id>] (one per shape),
test_latest_cache, test_repeat_backward and test_analytic, and a layer test_dout_untouched; the
module adds its special checks as further test methods.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pytest

from autograder.graders.cache import Case, case_cache
from autograder.graders.seeds import Seeds, benchmark_seeds, case_rng
from autograder.sandbox.part_session import PartSession

from . import messages as say
from .backward import BackwardGrader


class BackwardSuite:
    grader: ClassVar[BackwardGrader]
    shapes: ClassVar[list[tuple[int, ...]]]
    ids: ClassVar[list[str]]
    hidden: ClassVar[Seeds]
    property_shape: ClassVar[tuple[int, ...]]

    @staticmethod
    def make_case(seed: int, shape: tuple[int, ...], round_: int = 0) -> Case:
        """The value case of this seed and shape (round_ 1: the property round's)."""
        raise NotImplementedError

    @staticmethod
    def label(case: Case) -> str:
        """The case as named in a message."""
        raise NotImplementedError

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        if "k" in metafunc.fixturenames:
            metafunc.parametrize("k", range(len(self.shapes)), ids=self.ids)

    @pytest.fixture
    def seeds(self, grader_seed: int | None) -> Seeds:
        return self.hidden if grader_seed is None else benchmark_seeds(grader_seed, len(self.hidden.per_shape))

    @classmethod
    def cases(cls, seeds: Seeds) -> list[Case]:
        return [cls.make_case(seed, shape) for seed, shape in zip(seeds.per_shape, cls.shapes, strict=True)]

    @classmethod
    def property_case(cls, seeds: Seeds) -> Case:
        return cls.make_case(seeds.special, cls.property_shape, round_=1)

    def test_gradient_shapes(self, student: PartSession, reference: Any, seeds: Seeds) -> None:
        self.grader.check_shapes(student, reference, self.cases(seeds), self.label)

    def test_gradients(self, student: PartSession, reference: Any, seeds: Seeds, k: int) -> None:
        self.grader.check_values(student, reference, [self.cases(seeds)[k]], self.label)

    def test_latest_cache(self, student: PartSession, reference: Any, seeds: Seeds) -> None:
        self.grader.check_latest_cache(student, reference, self.property_case(seeds))

    def test_repeat_backward(self, student: PartSession, reference: Any, seeds: Seeds) -> None:
        self.grader.check_repeat(student, reference, self.property_case(seeds))

    def test_analytic(self, student: PartSession, reference: Any, seeds: Seeds) -> None:
        self.grader.check_analytic(student, reference, self.property_case(seeds))


class LayerSuite(BackwardSuite):
    def test_dout_untouched(self, student: PartSession, reference: Any, seeds: Seeds) -> None:
        self.grader.check_dout_untouched(student, reference, self.property_case(seeds))


class LossSuite(BackwardSuite):
    """A loss's backward takes no dout, so there is none to leave untouched."""


# --- Sigmoid and Tanh: smooth, saturating, and overflowing when recomputed from exp ---------------
LARGE = np.array([1000.0, 710.0, 100.0, 40.0, 20.0])  # exp(710) overflows float64; tanh(20) rounds to 1


@case_cache
def scaled_case(seed: int, shape: tuple[int, int], round_: int, salt: int, scale: float) -> Case:
    """x, x2 = scale · N(0, 1); dout = N(0, 1)."""
    rng = case_rng(seed, salt, shape, round_)
    return {
        "key": (seed, shape, round_),
        "x": scale * rng.standard_normal(shape),
        "x2": scale * rng.standard_normal(shape),
        "dout": rng.standard_normal(shape),
    }


@case_cache
def large_case(seed: int, salt: int) -> Case:
    """Half the entries of magnitude 20…1000 (both signs, ±1000 always present), the rest moderate."""
    rng = case_rng(seed, salt)
    x = 2.0 * rng.standard_normal((4, 6))
    flat, idx = x.reshape(-1), rng.permutation(x.size)[: x.size // 2]
    flat[idx] = rng.choice([-1.0, 1.0], idx.size) * rng.choice(LARGE, idx.size)
    flat[idx[0]], flat[idx[1]] = 1000.0, -1000.0
    return {"key": (seed, "large"), "x": x, "dout": rng.standard_normal(x.shape)}


def input_shape_label(case: Case) -> str:
    return say.input_shape_label(case["x"].shape)


def large_label(case: Case) -> str:
    return say.large_input_label(case["x"].shape)


class SaturatingSuite(LayerSuite):
    """x = scale · N(0, 1) on four shapes, and inputs up to |x| = 1000 (test_large_inputs): a
    derivative recomputed from exp(±x) overflows there, the cached y gives it without any exp."""

    salt: ClassVar[int]  # the part's salt base; its large case uses salt + 90
    scale: ClassVar[float]
    shapes = [(1, 4), (3, 5), (6, 2), (4, 4)]
    ids = [f"{n}x{d}" for n, d in shapes]
    property_shape = (4, 3)
    label = staticmethod(input_shape_label)

    @classmethod
    def make_case(cls, seed: int, shape: tuple[int, ...], round_: int = 0) -> Case:
        return scaled_case(seed, shape, round_, cls.salt, cls.scale)

    @classmethod
    def large_case(cls, seed: int) -> Case:
        return large_case(seed, cls.salt + 90)

    def test_large_inputs(self, student: PartSession, reference: Any, seeds: Seeds) -> None:
        self.grader.check_values(student, reference, [self.large_case(seeds.special)], large_label)
