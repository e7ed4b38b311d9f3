"""The lowest layer's Japanese: what the typed results (autograder/results.py) say themselves, for
every layer above to use (the judge's, the batch's). The other layers' text is in their own messages.py."""

from __future__ import annotations

# a part the kit could not grade (results.GRADER_ERROR): the kit's failure, never the student's
GRADER_ERROR_MESSAGE = "採点プログラムの不具合のため、この部分は採点できませんでした（あなたの解答のせいではありません）。担当教員が対応します"
