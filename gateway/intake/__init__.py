"""Intake: everything that arrives — webhooks, the web form, manual entry, imports — stored
durably before the provider is acknowledged, then processed exactly once; attachment downloads."""
