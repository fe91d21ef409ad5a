"""The single source of leaf-hub's version."""

__version__ = "0.1.0"
