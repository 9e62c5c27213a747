"""Tests of core/, the plumbing every app imports."""
