"""Meetings: listing, attendance, agenda publication, research, actions, chasing, minutes.

Everything sent to an agency goes through :func:`hub.disclosure.disclose`; the pure
rules (ordering, clocks, working days, action statuses) live in ``rules``.
"""
