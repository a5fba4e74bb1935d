"""The bot: the conversation with a citizen on a chat channel (one state table), its commands,
whether a later message adds to the open complaint, and reporters with many channel identities."""
