"""Configuration: settings, message templates and the demo data the deployment ships with."""
