"""migrator: schema migrations for a multi-service platform."""

__version__ = "0.1.0"
