"""Jobs and their runs (DESIGN §3–4): the run model, the run store, idempotency records, the
job starter and the job definitions per run type, notifications and the run-events feed."""
