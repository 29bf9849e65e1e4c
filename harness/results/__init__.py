"""Results: leaderboards merged from the node store, aggregates, gains with bootstrap intervals, figures, HTML,
benchmark exports and submissions."""
