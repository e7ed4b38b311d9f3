"""Facts every route shares: the rubric, where an assignment's notebooks are, the course secret, bounded plain text."""
