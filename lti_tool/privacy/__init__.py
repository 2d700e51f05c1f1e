"""Privacy (GDPR): what Socle holds about a person, erasure on request, and the retention rules."""
