"""The shared classifier: pure functions from evidence and thresholds to tiers, traits and actions."""

from connector.classify.classifier import (
    Classification,
    classify,
    classify_batches,
    classify_frames,
    to_classifications,
)

__all__ = ["Classification", "classify", "classify_batches", "classify_frames", "to_classifications"]
