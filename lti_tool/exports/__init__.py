"""Exports for training managers, DU juries and universities' Moodles: CSV tables (learner × module, learner ×
competence, attendance per live session, the jury summary), the jury file (a ZIP of per-learner evidence files
with that summary) and the competence framework in Moodle's ``tool_lpimportcsv`` format.

No Flask but in ``blueprint``: a session, a ``StaffScope`` and the content in; CSV or ZIP bytes out, produced
as chunks so that a response can stream them (or a caller write them to a file). Every query filters through
the scope, and every id a caller got from a URL is checked with ``selection.selection`` /
``selection.live_session`` first (404 outside it).
"""
