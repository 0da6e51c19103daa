"""The web: its process, routes, the server, access, the audit trail, the board's read models and `pages/`.
May import shared `streams` modules, never `streams.worker` (the agent, the desk) nor `streams.commands`."""
