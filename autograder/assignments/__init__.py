"""The course's assignments: one folder each (rubric.toml, graders/, public/), see README, Assignments."""
