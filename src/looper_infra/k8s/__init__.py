"""Kubernetes pieces computed in the program (no cloud calls): the v4 trust chain."""
