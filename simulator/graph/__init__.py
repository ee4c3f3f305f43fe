"""Microsoft Graph v1.0 and beta, served from deterministic, lazily generated tenant data."""
