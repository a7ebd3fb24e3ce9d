"""The shared classifier: pure functions from evidence and thresholds to tiers, traits and actions.

Import from the modules (``connector.classify.classifier``): the package itself stays empty, so that
``connector.config`` can import the rule sections (``*_settings.py``) without loading polars and the
classifier.
"""
