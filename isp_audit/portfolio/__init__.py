"""Portfolios: many targets audited with the one-target pipeline, summarised across apps, sharded over CI.

``file.py`` reads a portfolio file; ``run.py`` audits its targets (``--jobs``, ``--shard``); ``model.py`` is
portfolio.json and the exit rule over targets; ``formats.py`` renders the summary; ``merge.py`` combines
shard outputs.
"""
