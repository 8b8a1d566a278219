"""Retention Audit's numerical core.

Pure numpy/scipy: reward-prediction-error models, reinforcement-schedule identification,
markers of harm and the decision table. Never imports the web or database stack.
"""
