"""One module per provider: verify a webhook, parse its payload, send replies. See base.py."""
