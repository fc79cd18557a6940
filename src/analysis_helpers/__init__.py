"""Helpers for customer-satisfaction survey analysis notebooks."""
