"""How a sealed envelope reaches an agency, and the format of its payload.

The transports and formats arrive with the adapters issue; this package imports
:mod:`hub.protocol` only.
"""

__all__: list[str] = []
