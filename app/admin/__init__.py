"""RSO staff pages: users and roles, countries and their focal points, the audit log."""
