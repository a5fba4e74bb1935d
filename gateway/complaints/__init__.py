"""Complaints: the state machine (`workflow`), the one lifecycle seam (`lifecycle.step`), the
SOP's actions, filing, enrichment, duplicates and clusters, what leaves the gateway
(`disclosure`), public status, tracking codes and the reporter's feedback."""
