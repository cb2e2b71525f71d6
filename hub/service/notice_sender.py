"""Moved: :class:`NoticeSender` lives in ``hub.app.notices``."""

from hub.app.notices import NoticeSender

__all__ = ["NoticeSender"]
