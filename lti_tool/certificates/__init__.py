"""Certificates: issue, render (PDF), verify, revoke (Open Badges 3.0)."""
