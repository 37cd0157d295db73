"""curate: a versioned gold dataset of entities and quotes from news articles."""

from curate.model import Article, Document, Entity, Quote, Span

__version__ = "0.1.0"

__all__ = ["Article", "Document", "Entity", "Quote", "Span", "__version__"]
