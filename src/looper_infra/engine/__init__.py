"""Run stage programs: offline under recording mocks (plan) or for real (deploy)."""
