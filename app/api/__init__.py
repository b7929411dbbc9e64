"""Machine endpoints: health checks now, the public API later."""
