"""The module player: pages, progress, quizzes, deliverables, live sessions and attendance."""
