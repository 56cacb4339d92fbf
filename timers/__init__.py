"""Timer-triggered functions: like the HTTP functions in ``api/``, they start jobs through
the Durable client and return; the work runs in orchestrations."""
