"""Sealed holdings: encryption at rest in the age v1 format (issue 27)."""
