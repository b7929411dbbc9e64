"""What the platform does, independent of HTTP. Plain functions taking a session and values."""
