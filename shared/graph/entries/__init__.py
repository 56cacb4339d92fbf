"""The catalog's entries, one module per area; :mod:`shared.graph.catalog` joins them in this
order (which is also the order of the supported keys)."""
