"""The training manager's dashboard: cohorts, competences, diagnostics, certificates (the exports are in
``lti_tool.exports``)."""
