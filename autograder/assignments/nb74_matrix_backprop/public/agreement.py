"""One part's findings over its failed cases, agreed into one per quantity (`agree_findings`): a
family is named only when every case agrees with it. Needs only the standard library.
"""

from __future__ import annotations

from collections.abc import Sequence

from .findings import ANY, UNKNOWN, Finding, diagnosis_label


def agree_findings(findings: Sequence[Finding]) -> list[Finding]:
    """One part's findings over its failed tests (shape cases, special inputs), one per quantity.

    A family is reported for a quantity only when every case agrees with it: each case names that
    family, or is unsure between it and others (one number, two families fitting). A family in one
    case and another family — or no family at all — in the next is `unknown` ("not sure"), and so
    are scale factors that differ between cases."""
    by_quantity: dict[str, list[Finding]] = {}
    for f in findings:
        by_quantity.setdefault(f.quantity, []).append(f)
    out = []
    for quantity, found in by_quantity.items():
        definite = [f for f in found if f.code != UNKNOWN]
        unsure = [f for f in found if f.code == UNKNOWN]
        families = list(dict.fromkeys(f.code for f in definite))
        if not families:
            out.append(next((f for f in unsure if not f.unsure_of), unsure[0]))
            continue
        family = families[0]
        compatible = len(families) == 1 and all(ANY in f.unsure_of or family in f.unsure_of for f in unsure)
        names = common_factor(definite) if compatible and family in ("scale", "sign") else set()
        if not compatible or (family in ("scale", "sign") and not names):
            out.append(disagreement(quantity, found))
            continue
        named = [f for f in definite if f.factor_name is not None and f.factor_name in names]
        out.append(named[0] if len(names) == 1 and named else definite[0])
    return out


def common_factor(found: Sequence[Finding]) -> set[str]:
    """The factor names every scale (sign) finding allows: one case's N may be another's D."""
    common: set[str] | None = None
    for f in found:
        fitting = set(f.factor_names or ((f.factor_name,) if f.factor_name else ()))
        common = fitting if common is None else common & fitting
    return common or set()


def disagreement(quantity: str, found: Sequence[Finding]) -> Finding:
    counts: dict[str, int] = {}
    for f in found:
        what = "当てはまるものなし" if f.code == UNKNOWN and not f.unsure_of else None
        if f.code == UNKNOWN and f.unsure_of:
            what = "区別できない"
        key = what or f"「{diagnosis_label(f.code, quantity, f.factor_name)}」"
        counts[key] = counts.get(key, 0) + 1
    told = "、".join(f"{k} {n} 件" for k, n in counts.items())
    text = (
        f"{quantity} は入力（形状）によって当てはまる間違いが違いました（{told}）。"
        "どの間違いかは特定できません。各テストのずれ方（倍率、位置）を見比べてください。"
    )
    return Finding(UNKNOWN, quantity, text)
