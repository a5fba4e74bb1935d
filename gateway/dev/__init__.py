"""For trying and demonstrating: the demo with fake providers inside the gateway (`make run`),
demo data, the admins' bot simulator and signing provider payloads (`send-fixture`)."""
