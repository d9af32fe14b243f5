"""One module per use case; each takes the clients it needs and returns its jobs' results."""
