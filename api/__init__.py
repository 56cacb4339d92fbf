"""HTTP-triggered functions, one blueprint per resource (registered in function_app.py)."""
