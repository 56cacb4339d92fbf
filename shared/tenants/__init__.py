"""Who may do what, where (DESIGN §3, §6): callers' bearer tokens, registered tenants and
their access grants, and the audit log."""
