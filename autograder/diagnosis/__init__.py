"""PUBLIC: which mistake a gradient shows, the known mistakes, the heatmaps and the visible checks (copied into the release notebook)."""
