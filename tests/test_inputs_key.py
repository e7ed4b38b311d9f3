"""The key a submission's hidden inputs are drawn from: what the student wrote, and the course secret."""

from autograder.course.secret import submission_key

CELLS = [("given_layers", "class Layer: ...", True), ("linear_answer", "class Linear(Layer): ...", True)]


def test_a_new_release_of_the_given_code_draws_the_same_inputs():
    updated = [("given_layers", "class Layer:  # the kit's new visible checks\n    ...", True), CELLS[1]]
    assert submission_key(updated) == submission_key(CELLS)


def test_a_change_in_what_the_student_wrote_draws_other_inputs():
    edited = [CELLS[0], ("linear_answer", "class Linear(Layer): ...\n# another submission", True)]
    assert submission_key(edited) != submission_key(CELLS)
    renamed = [CELLS[0], ("自作セル1", CELLS[1][1], True)]  # the same code in another cell is other code
    assert submission_key(renamed) != submission_key(CELLS)
