"""platekeeper: an ALPR platform that enforces the agency's privacy and usage policy in software."""

__all__ = ["__version__"]

__version__ = "0.1.0"
