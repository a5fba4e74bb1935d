"""Meta's channels: WhatsApp Cloud API, Instagram and Facebook Page, sharing Meta's code.

Like Courier's `handlers/meta`, the three speak one webhook format and one Graph API:

- `webhook`: the `X-Hub-Signature-256` check (before anything is parsed), the `hub.challenge`
  set-up handshake, and the notification envelope (`object`, `entry[]`).
- `payloads`: typed models of what Meta sends and answers (pydantic, unknown fields ignored).
- `graph`: the Graph API client on httpx (bearer token, configurable base URL and version) and
  the one table that says which Graph errors are worth retrying.
- `base`: what every Meta channel does alike (verify, handshake, windows, media downloads).
- `messenger`: Instagram and Facebook direct messages (`entry[].messaging[]`, the Send API,
  private replies), shared by `instagram` and `facebook`, which add their public comments.
- `whatsapp_cloud`: `entry[].changes[].value` messages and statuses, templates outside the
  24-hour window.

docs/channels/meta.md says how to set the channels up and what the gateway does with them.
"""
