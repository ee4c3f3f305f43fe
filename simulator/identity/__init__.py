"""Entra ID: discovery, JWKS, v2.0 + v1 authorize and token endpoints, AADSTS errors."""
