"""Grading configuration and tooling for the course (instructors only, never released)."""
