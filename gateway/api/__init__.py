"""HTTP routes, one module per area under `routes/`; shared dependencies in `deps.py`."""
