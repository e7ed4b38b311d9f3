"""The student side of the sandbox: the only folder bound into it (runner, part server, cells, confinement, protocol)."""
