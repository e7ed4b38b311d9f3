#!/usr/bin/env bash
# Grade what collect.py laid out in submitted/, with the hidden graders, into reports/.
# Usage: grade.sh [OUT [ASSIGNMENT]]; the assignment defaults to the kit's, if it has only one.
# The batch's exit code 1 (a submission could not be graded) must not hide the others' grades:
# the export and the artifacts still happen, and the job fails at the end.
set -uo pipefail
OUT="${1:-reports}"
ASSIGNMENT="${2:-$(python -c 'from autograder.course.assignment import only_assignment; print(only_assignment().name)')}"
mkdir -p "$OUT"
# A fresh gradebook needs the assignment's cells and points: nbgrader generate_assignment records
# them (into a scratch release folder, so the committed release/ stays as it is).
nbgrader generate_assignment "$ASSIGNMENT" --force --CourseDirectory.release_directory=build/ci-release >/dev/null
python -m autograder batch "$ASSIGNMENT" --isolation "${GRADING_ISOLATION:-bwrap}" --no-progress \
  --junit "$OUT/junit.xml" --summary "$OUT/summary.md"
status=$?
nbgrader export --to "$OUT/grades.csv" || status=1
# What the class got wrong (the instructor's artifact: it names the hidden tests)
python -m autograder report "$ASSIGNMENT" --out "$OUT/class-report" --no-progress >/dev/null || status=1
if [ -n "${GITHUB_STEP_SUMMARY:-}" ] && [ -f "$OUT/summary.md" ]; then
  cat "$OUT/summary.md" >> "$GITHUB_STEP_SUMMARY"
fi
exit "$status"
