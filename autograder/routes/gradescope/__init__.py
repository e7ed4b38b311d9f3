"""The Gradescope route: the same judge, rubric and isolation, packaged as Gradescope's autograder.

    python -m autograder gradescope --out DIR     # DIR/autograder.zip (package.py)

Inside the zip, at its root, `setup.sh` (run once as root when Gradescope builds the image) makes a
venv of the judge's pinned runtime, and `run_autograder` runs `python -m autograder.routes.gradescope`
(__main__.py) for each submission: it picks the notebook (submission.py), grades it with
`python -m autograder grade`, and writes Gradescope's results.json (results.py).
Every path is under $AUTOGRADER_ROOT (default /autograder).
"""
