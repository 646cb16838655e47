"""Prefect tasks: thin wrappers (retries, logging, artifacts) around ``vigil.scan``."""
