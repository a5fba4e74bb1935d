"""What the working-day clock does with the database: recompute a complaint's deadlines from its
audit log, the days admins add or remove, and the sweeps (reminders, escalation, automatic
close). The pure arithmetic is in the top-level `workdays/`."""
