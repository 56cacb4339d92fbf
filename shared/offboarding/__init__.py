"""Offboarding a customer tenant (DESIGN §12): what belongs to it (``plan``), stopping and
purging its runs' orchestrations (``runs``), deleting its rows and blobs (``sweep``), and the
job that does it all in the MSP's scope (``job``)."""
