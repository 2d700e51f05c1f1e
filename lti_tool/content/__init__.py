"""The programme's content (``modules/``): schema, loading and validation, with reports that say where and
how to fix."""
