"""What the instructor or CI reads about a class: class page, tables, plots, Markdown summary, JUnit, CSV."""
