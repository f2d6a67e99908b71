"""Talking to the target outside the browser: the scope gate, bounded plain HTTP, form login, answer
classes (authenticated, rejected, fault) and deadlines."""
