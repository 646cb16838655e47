"""vigil: data-loss-prevention connector for Anthropic's Compliance API.

This package holds all of vigil's logic and never imports Prefect; ``tasks/`` and ``flows/``
wrap it for orchestration.
"""

__version__ = "0.1.0"
