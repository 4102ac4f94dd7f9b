"""The package version (one place: the package, its rows and its models read it here)."""

__version__ = "0.1.0"
