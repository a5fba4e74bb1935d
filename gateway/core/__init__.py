"""The SP4N-LAPOR! core's side of a complaint: submitting, taking its events exactly once,
feedback, the manual (copy-ready) backend and the SP4N box of the complaint page."""
