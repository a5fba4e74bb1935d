"""The outbox: the durable queue of everything that leaves the gateway (enqueue in the caller's
transaction, claim, retry, dead letters), delivery on a channel, who is told what, and which
status changes reporters hear about."""
