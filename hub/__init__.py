"""marac-hub: the MARAC information-sharing hub."""

__all__: list[str] = []
__version__ = "0.1.0"
