"""PUBLIC: which mistake a gradient shows, the known mistakes, the heatmaps and the visible checks (copied into the release notebook)."""

# What `python -m autograder build` needs to make the release's given cell of these modules:
NAMESPACE = "nb74"  # the cell's one namespace: the visible tests call nb74.check_linear(Linear)
EXAMPLE_CALL = "nb74.check_linear(Linear)"  # named in the cell's comment
# every module of this folder, in the order the cell executes them (each after what it uses); the
# last is the namespace's face, which solutions/<assignment>/reference.py imports
MODULES = (
    "findings.py",
    "diagnosis.py",
    "agreement.py",
    "known_mistakes.py",
    "heatmaps.py",
    "visible_common.py",
    "visible_layers.py",
    "visible.py",
)
