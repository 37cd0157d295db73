"""Scoring extractors against gold: span matching, entity and quote metrics, reports."""
