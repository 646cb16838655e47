"""Prefect flows: the forward and historical scans (logic lives in ``vigil.scan``)."""
