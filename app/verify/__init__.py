"""Public certificate checks, and the documents a verifier fetches: issuer, keys, status list."""
