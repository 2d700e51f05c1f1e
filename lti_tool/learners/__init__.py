"""Platform registrations, learners, course contexts and enrolments: the rows and their services, a low layer.
What reads or changes them over LTI (the roster, the registration switches) is ``lti_tool.lti``'s."""
