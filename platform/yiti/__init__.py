"""Yiti (一体): a metadata-driven business platform. See docs/architecture.md."""

__version__ = "0.1.0"
