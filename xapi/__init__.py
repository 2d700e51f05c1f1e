"""xAPI for Socle: statements built, validated, stored, served and forwarded.

This package imports nothing from lti_tool."""
