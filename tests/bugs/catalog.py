"""The catalog of realistic student answers, for the tests: the assignment's own catalog (bugs,
their expected part and diagnosis, the equivalent correct forms) is hidden assignment data beside
the graders, autograder/graders/catalog/ (`python -m autograder check` grades it); this module
re-exports it, with what the tests alone need (VISIBLE_SAYS).
"""

from __future__ import annotations

from autograder.assignments.nb74_matrix_backprop.graders.catalog import (
    BUGS,
    CACHE_X,
    DIAGNOSES,
    FORMS,
    Entry,
    form,
    forms_by_round,
    solution_cell,
    with_backward,
)

__all__ = [
    "BUGS",
    "CACHE_X",
    "DIAGNOSES",
    "FORMS",
    "VISIBLE_SAYS",
    "Entry",
    "form",
    "forms_by_round",
    "solution_cell",
    "with_backward",
]

# What the release notebook's visible test says for each family the judge names (the phrase its
# message holds): tests/test_visible_notebook_bugs.py and tests/test_visible_diagnosis.py.
VISIBLE_SAYS: dict[str, str] = {
    "transposed": "転置",
    "scale": "倍です",
    "sign": "符号が逆",
    "batch_reduction": "和",
    "ignores_dout": "dout を掛けていません",
    "wrong_derivative": "の値になっています",
    "relu_mask": "マスク",
    "accumulates": "足し込",
    "stale_cache": "1 回目",
    "not_ndarray": "np.ndarray ではありません",
    "forward_changed": "forward は変更しないでください",
    "missing_grad": "に代入してください",
    "precision": "float32",
    "overflow": "nan か inf",
    "mutates_dout": "dout をその場で書き換えています",
    "mutates_cache": "self.cache の配列をその場で書き換え",
    "numerical": "数値微分ではなく",
    "shared_state": "状態を共有しています",
}
