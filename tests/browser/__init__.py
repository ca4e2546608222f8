"""End-to-end journeys through the published site in a real Chromium (issue 7).

A package so its conftest does not take the name `conftest` from tests/conftest.py,
which the other test modules import helpers from.
"""
