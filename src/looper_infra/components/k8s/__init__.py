"""Kubernetes cluster pieces built in the program (no cloud resources)."""
