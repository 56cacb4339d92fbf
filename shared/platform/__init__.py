"""Plumbing every feature uses: configuration, the error tree and its codes, Azure Storage
clients and table primitives, keys and ids, list paging, redaction of secrets."""
