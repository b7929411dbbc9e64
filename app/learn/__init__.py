"""The learner's side of the site: catalogue, courses, lessons and quizzes."""
