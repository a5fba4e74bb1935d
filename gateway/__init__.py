"""The gateway: web app, database, intake, workflow, outbox, scheduler, admin UI and CLI."""
