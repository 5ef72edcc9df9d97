"""The review queue: turns the bot was unsure of, labelled by operators (with double labelling,
Cohen's kappa and adjudication), and the weak labels kept apart from reviewed ones."""
