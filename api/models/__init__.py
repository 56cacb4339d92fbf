"""The HTTP API's bodies as pydantic models: what callers send (``requests``) and what the
API answers (``responses``). Their JSON Schemas are the API's contract (DESIGN §3)."""
