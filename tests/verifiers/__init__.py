"""Independent credential verifiers used by the certificate tests."""
