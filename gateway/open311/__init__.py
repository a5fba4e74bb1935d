"""Open311 GeoReport v2 at `/open311/v2/` (docs/open311.md): the deployment's complaint classes
as services, complaints as public service requests (the same privacy rules as the public pages:
masked text, never a `rahasia` complaint, never the reporter), and `POST requests` with an
admin-issued API key, filing a complaint through the normal intake.

- `georeport`: the mapping — services, requests, query limits, JSON and XML in the spec's names,
  errors as the spec's `[{code, description}]`;
- `keys`: issuing, checking and rate-limiting the API keys (only their hashes are stored).
The routes are in gateway/api/routes/open311.py.
"""
