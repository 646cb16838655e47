"""Evaluation data written by other projects (their own test cases), for detection quality
measured against what vigil's authors did not write (docs/evaluation.md)."""
