"""Meetings: listing, attendance, agenda publication, research, actions, chasing, minutes.

The functions take plain ids and the log's name for whoever acts; who may call them (role
and area) is decided by the use-cases in ``hub.app.meetings`` and ``hub.app.actions``.
Everything sent to an agency goes through :func:`hub.disclosure.disclose`, free text
included (an action's description only where the policy's decision allows it); the pure
rules (ordering, clocks, working days, action statuses) live in ``rules``.
"""
