"""Signing in and out, sessions, two-factor, passwords and invitations."""
