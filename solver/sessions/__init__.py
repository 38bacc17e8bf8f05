"""A problem with its settings: the session format (``session``, ``session_text``; see
docs/SESSIONS.md), the presets and the example sessions."""
