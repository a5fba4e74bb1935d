"""Background jobs: the APScheduler jobs and which instance runs them (the leader)."""
