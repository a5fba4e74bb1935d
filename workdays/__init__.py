"""Working days: the calendar and the deadline arithmetic, pure (imports config only)."""
