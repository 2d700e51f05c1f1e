"""A minimal LTI 1.3 platform beside Socle, for development and tests (refused in production).

It plays the LMS for real: its own key pair and JWKS, a demo course with a learner, an instructor and a
site administrator, and the OIDC login -> authorization -> signed id_token POST against the tool over
HTTP; Deep Linking, AGS, NRPS and Dynamic Registration on the platform's side. ``platform.py`` holds the
platform logic (no Flask), ``blueprint.py`` its pages and endpoints under ``/demo``.

It is a neighbour of the tool, not a part of it: it knows Socle only by the public URLs any LMS is given
(``tool_urls.py``) and never imports the tool's features. What it takes from ``lti_tool`` is shared
infrastructure only:

- ``lti_tool.db``: the Flask-SQLAlchemy session and engine (``db``), ``DbSession``, ``UTCDateTime``,
  ``utcnow`` and the constraint ``NAMING_CONVENTION``; its tables have their own metadata
  (``models.DemoBase``), outside the schema the tool's migrations manage, and it creates them itself;
- ``lti_tool.inputs.row_id``: the request parser for a row id;
- ``lti_tool.keys.KeyStore``: its RSA signing key and JWKS;
- the tool's page layout (``base.html``) and shared static files, by name, through Jinja and ``url_for``.

``lti_tool.create_app`` calls ``init_app`` when ``DEMO_PLATFORM`` is on; that is the only place the tool
imports this package.
"""

from demo_platform.blueprint import init_app

__all__ = ["init_app"]
