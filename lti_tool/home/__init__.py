"""Where people arrive: the public front page, the learner and staff homes after a launch, the health check."""
