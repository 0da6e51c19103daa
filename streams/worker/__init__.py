"""The worker: the Faust app (`app.py`, the composition root), the deciding agent, its desk, state,
continuity, transport, topics and broadcasts. May import shared `streams` modules and `streams.web`."""
