"""A minimal LTI 1.3 platform built into Socle, for development and tests (refused in production).

It plays the LMS for real: its own key pair and JWKS, a demo course with a learner, an instructor and a
site administrator, and the OIDC login -> authorization -> signed id_token POST against the tool over
HTTP. ``platform.py`` holds the platform logic (no Flask) so that later issues can add Deep Linking,
AGS, NRPS and Dynamic Registration beside ``authorize``.
"""
