"""Training the query stage of the embedded model: curated rows, their checks and the shipped adapter."""
