"""One grade: cells -> sandbox -> pytest graders -> Results; the judge's pytest plugin; the numbers behind the pictures."""
