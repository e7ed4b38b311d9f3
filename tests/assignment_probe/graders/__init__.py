"""The probe assignment's graders: never seen by the student's process."""
