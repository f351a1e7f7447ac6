"""Repositories: named queries over one Transaction, returning domain objects."""
