"""Code shared by the HTTP functions, orchestrators and activities."""
