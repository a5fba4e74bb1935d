"""The bot: the conversation with a citizen on a chat channel (one state table), its commands,
whether a later message adds to the open complaint, reporters with many channel identities, and
what may be said in public under a comment (`public_posts`: a neutral word, the rest privately)."""
