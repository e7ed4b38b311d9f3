"""The probe assignment's request kinds, added to the engine's for its parts.

- "helper": a Probe of ../public/helpers.py made here (never looked up in the student's namespace);
- "where": the files this package was loaded from, as the student's process sees them;
- "raw": a reply built without describe(): `value` arrays of `n` booleans each, `copies` times
  (the judge's bounds on what it receives still apply), or with "object" a Probe itself (unsendable).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..public import helpers


def helper(server: Any, req: dict[str, Any]) -> dict[str, Any]:
    return server.keep(helpers.Probe(*server.resolve(req.get("args", []))))


def where(server: Any, req: dict[str, Any]) -> dict[str, Any]:
    return {"ops": __file__, "helpers": helpers.__file__, "package": __package__}


def raw(server: Any, req: dict[str, Any]) -> dict[str, Any]:
    if req.get("object"):
        return {"value": helpers.Probe(1)}
    return {"value": [np.zeros(int(req["n"]), dtype=bool)] * int(req["copies"])}


HANDLERS = {"helper": helper, "where": where, "raw": raw}
