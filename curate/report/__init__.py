"""Renderers of evaluation and agreement reports (HTML)."""
