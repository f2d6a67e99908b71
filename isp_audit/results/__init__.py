"""The results stage: the typed results document (``results.model``) and the rules read from it."""
