"""Local fakes of the providers' APIs (Twilio, Telegram), speaking their documented formats.

The tests point the real SDKs at them, and `make run` mounts them inside the demo gateway so the
bot can be tried, and a liaison's WhatsApp notification seen, with no provider account.
"""
