"""Where every grader case's random inputs come from.

A case is drawn from `case_rng(seed, salt, ...)`: a seed (hidden in these modules, or the
benchmark's), a salt naming the case, and the submission's inputs key (session.seeded). The salt
is the part's base (Linear 100, Sigmoid 200, ReLU 300, Tanh 400, MSE 500, softmax 600, the MLP
700; a special case its own, e.g. 290) + 1000 per round (0: the value cases, 1: the property
round) + 10000 per variant (softmax's one-hot targets) + the shape's digits ((3, 5) → 35).

The pytest option `--grader-seed K` (repeatable) replaces the hidden seeds by the benchmark's
seeds K: benchmarks/false_failures.py grades many seeds in one pytest run.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from .session import seeded

BENCHMARK_BASE = 1_000_000  # far from every hidden seed (tests/test_graders_local.py checks it)


@dataclass(frozen=True)
class Seeds:
    per_shape: tuple[int, ...]  # one per value case
    special: int  # the property round and the special cases


def benchmark_seeds(k: int, n: int) -> Seeds:
    """Benchmark seed k for a part with n value cases."""
    base = BENCHMARK_BASE + 100 * k
    return Seeds(tuple(base + i for i in range(n)), base)


def shape_digits(shape: tuple[int, ...]) -> int:
    return sum(d * 10 ** (len(shape) - 1 - i) for i, d in enumerate(shape))


def case_rng(
    seed: int, salt: int, shape: tuple[int, ...] = (), round_: int = 0, variant: int = 0
) -> np.random.Generator:
    """The generator of one grader case (see the module docstring for the salt)."""
    return seeded(seed, salt + 10000 * variant + 1000 * round_ + shape_digits(shape))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--grader-seed",
        type=int,
        action="append",
        metavar="K",
        help="grade with benchmark seed K instead of the hidden seeds (repeat to parametrize over several)",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    chosen = metafunc.config.getoption("--grader-seed")
    if chosen and "grader_seed" in metafunc.fixturenames:
        metafunc.parametrize("grader_seed", chosen, ids=[f"seed{k}" for k in chosen])


@pytest.fixture
def grader_seed() -> int | None:
    """None: the graders' hidden seeds (the judge); with --grader-seed, each chosen seed in turn."""
    return None
