"""The engine's student side of the sandbox, bound at /runner (beside it only an assignment's inside/ and public/, sandbox/side.py): runner, part server, cells, confinement, protocol."""
