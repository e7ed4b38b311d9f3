"""How a submission is read, for every route: regular files within bounds, the canonical notebook, a class's submissions."""
