"""Platform registrations, learners, course contexts and enrolments."""
