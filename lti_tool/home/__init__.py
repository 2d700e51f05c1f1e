"""Where people arrive: the front page, the learner and staff homes after a launch, the health check."""
