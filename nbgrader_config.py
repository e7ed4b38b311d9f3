# nbgrader configuration of the course. Run nbgrader commands from this folder.
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)  # lets nbgrader load the kit's preprocessors (autograder/routes/nbgrader_hooks/)

c = get_config()  # noqa: F821 (provided by nbgrader)

c.CourseDirectory.course_id = "dl-nb74"
c.CourseDirectory.root = HERE
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "release"
c.CourseDirectory.solution_directory = "solutions"
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(HERE, "gradebook.db")
# Or a database server, shared by nbgrader and `python -m autograder batch` (README: PostgreSQL), e.g.
# c.CourseDirectory.db_url = "postgresql+psycopg2://nb74@/nb74_gradebook?host=/var/run/postgresql"

# What students see where they must write code.
c.ClearSolutions.code_stub = {"python": "# ここにコードを書いてください\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "ここに解答を書いてください"

c.Execute.timeout = 120

# The solution notebook handed out after the deadline: solutions in, hidden tests and markers out.
c.GenerateSolution.preprocessors = [
    "nbgrader.preprocessors.IncludeHeaderFooter",
    "nbgrader.preprocessors.LockCells",
    "nbgrader.preprocessors.ClearOutput",
    "nbgrader.preprocessors.ClearHiddenTests",
    "nbgrader.preprocessors.ClearMarkScheme",
    "autograder.routes.nbgrader_hooks.preprocessors.strip_solution_markers.StripSolutionMarkers",
    "nbgrader.preprocessors.Execute",
]

# Autograde: the isolated judge scores every test cell of the assignments it has graders for
# (autograder.course.assignment.judged: today nb74_matrix_backprop) instead of a kernel running student
# code (autograder/routes/nbgrader_hooks/preprocessors/judge_scores.py: JudgeScores replaces Execute).
# nbgrader's own checks stay: locked and test cells are restored from the gradebook, deleted grade
# cells are put back and scored. Every other assignment of the course is autograded by nbgrader's
# own preprocessors, in its default order, exactly as without the kit (preprocessors/plain.py).
c.OverwriteCells.add_missing_cells = True
# Submissions come in through the kit's intake (autograder/intake/read.py), as in the batch: no symbolic
# link is followed (collect, autograde), bounded strict-UTF-8 JSON, nbgrader metadata as released;
# a refused notebook is graded as the release with the reason, never "no grade".
c.ExchangeFactory.collect = "autograder.routes.nbgrader_hooks.exchange.collect.SafeCollect"
# `nbgrader export` writes grades.csv through the kit's formula guard (autograder/course/spreadsheet.py):
# student ids and names starting with = + - @ are text, not formulas, in a spreadsheet.
c.ExportApp.plugin_class = "autograder.routes.nbgrader_hooks.export.CsvExport"
c.Autograde.exporter_class = "autograder.routes.nbgrader_hooks.exporters.intake.IntakeExporter"
# Special files removed and a renamed notebook graded under the released name, with a note, as in
# the batch (the hook must be a callable, so it is imported here).
from autograder.routes.nbgrader_hooks.pre_convert import prepare_submission  # noqa: E402

c.Autograde.pre_convert_hook = prepare_submission
c.Autograde.autograde_preprocessors = [
    "autograder.routes.nbgrader_hooks.preprocessors.judge_scores.JudgeScores",  # judged assignments only
    "autograder.routes.nbgrader_hooks.preprocessors.plain.Execute",  # nbgrader's Execute, other assignments only
    "autograder.routes.nbgrader_hooks.preprocessors.plain.IgnorePattern",  # nbgrader's, other assignments only
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    # SaveAutoGrades; for a judged assignment with the judge's results, in one transaction
    "autograder.routes.nbgrader_hooks.preprocessors.save_judge_grades.SaveJudgeGrades",
    "autograder.routes.nbgrader_hooks.preprocessors.intake_notes.IntakeNotes",  # judged assignments only
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]

# Feedback never shows hidden tests (the judge already strips them; this is a second lock).
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "nbgrader.preprocessors.ClearHiddenTests",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]

# Student-controlled HTML never runs in the feedback (autograder/feedback/sanitize.py, safe_html.py). The autograded
# notebook is already sanitized by the judge's preprocessor; nbgrader's feedback template renders
# markdown cells and gradebook comments without nbconvert's sanitizer, so SanitizeFeedback cleans
# them again after GetGrades, and sanitize_html covers cell outputs, JavaScript and widget state.
c.GenerateFeedback.preprocessors += [
    "autograder.routes.nbgrader_hooks.preprocessors.sanitize_feedback.SanitizeFeedback"
]
# The feedback page names each part by its rubric title, in Japanese, with readable tables and
# wrapped judge lines (autograder/feedback/templates/feedback, over nbgrader's own feedback template).
c.GenerateFeedback.exporter_class = "autograder.routes.nbgrader_hooks.exporters.feedback.FeedbackExporter"
c.HTMLExporter.sanitize_html = True

# The formgrader (when it is what reads this file) serves a submission's files from autograded/
# only and never as a page: its handler otherwise follows an encoded "../" anywhere under the
# course root, to a student's own HTML in submitted/ (autograder/routes/nbgrader_hooks/formgrader.py).
if "nbgrader.server_extensions.formgrader.handlers" in sys.modules:
    from autograder.routes.nbgrader_hooks.formgrader import guard

    guard()
