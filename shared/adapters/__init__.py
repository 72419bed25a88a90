"""Shared adapters: tables every service that owns a schema keeps alike."""
