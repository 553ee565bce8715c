"""roleteam: durable AI role sessions on Temporal."""

__version__ = "0.1.0"
