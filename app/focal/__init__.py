"""The focal point's pages: their country's staff, invitations and enrolments."""
