"""contextual-avatar."""
