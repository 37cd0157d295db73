"""Reading and writing inputs: articles (JSONL, CSV, text folders), documents, brat."""
